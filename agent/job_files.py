"""Names of the files in a job's directory, shared by the agent and its worker."""

SPEC_FILE = "spec.pb"
META_FILE = "meta.json"
RESULT_FILE = "result.pb"  # the final result, written by the agent
WORKER_CONFIG_FILE = "worker.json"
WORKER_STDERR_FILE = "worker.stderr"
