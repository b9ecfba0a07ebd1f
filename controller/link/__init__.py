"""The driver layer: how the controller reaches a board. Target parsing (`target`), the per-target files of
tokens and TLS settings with the credentials they give (`targets_config`), the gRPC client with its error
translation (`client`), an agent started here for `--target local` (`local_agent`), and the wire messages
turned into the records of records/ (`board`, `job_spec`, `results`, `energy`). `connection` is what the
rest of the controller uses: one open connection to a board, spoken in records; `probe` asks a known
target how it is. Only this package imports the generated stubs (edgebench.v1)."""
