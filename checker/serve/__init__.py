"""The checker as an HTTP service the records system calls (`crimecheck serve`, docs/serve.md)."""
