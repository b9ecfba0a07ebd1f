"""Every renderer of the controller: what a command prints or writes (tables, JSON/CSV, JUnit, HTML, charts,
per-op tables, progress). Functions of records (the HTML report reads an open store it is given); nothing here
talks to a board or opens a store."""
