"""cli: the `crimecheck` command line: argument parsing and dispatch (main), exit codes (exits), the
commands' bodies (commands: check and rules; audit: audit and compare), human output (output)
and the progress bar (progress). The top of the stack: may import every other stage.
"""
