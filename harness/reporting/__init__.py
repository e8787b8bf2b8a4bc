"""Reporting (layer 4): console, results.json, Allure results and report, certificate, ledger, gate."""
