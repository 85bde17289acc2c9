"""Report renderers (PRODUCT.yaml, README.md, report.html, junit.xml, e2e.log) and the validator."""
