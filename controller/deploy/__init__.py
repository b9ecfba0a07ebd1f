"""Put the agent on a board over SSH: build a wheel, copy it (and a wheelhouse for offline boards), install it
into a fresh virtual environment there, run it as a service, and wait until it answers.

The board side is one POSIX shell script, install-agent.sh, shipped in this package (read by
`install_script.install_script()`; scripts/install-agent.sh links to it), the same one a user runs by hand on a
board; this package decides what to copy and reads what the script says.
"""
