"""Jobs that chain several steps of the flow, each a ``vdb-harness`` subcommand: ``demo`` (run + load + report),
``certify`` (conformance, load and capacity sealed as a bundle) and ``capacity`` (repeated load steps searching
the highest load within the SLOs). Each job's ``*_command`` module holds its flags and ``run``."""
