"""Every renderer of the controller: what a command prints or writes (tables, JSON/CSV, JUnit, HTML, charts,
per-op tables, progress). Pure functions of records; nothing here talks to a board or opens a store."""
