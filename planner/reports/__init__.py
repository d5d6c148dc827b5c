"""Reports: why a plan is what it is (explain), how two plans differ (diff), and how a
plan reaches people (terminal, HTML, XLSX, CSV), formatted in one place."""
