"""Reports: how a plan reaches people (terminal, HTML, XLSX, CSV), formatted in one place."""
