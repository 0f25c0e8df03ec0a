"""The command line: argument parsing (main), the plain-terminal login (login), the other
commands (commands, install) and the Prompter that asks in a terminal (terminal). A face: it
renders core's flow and may import core/ and the wizard's launcher (tui.run), nothing of demo/
but through the --demo switch."""
