"""The gRPC service: maps the v1 contract onto the model store and the job queue."""
from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field

import grpc
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from edgebench.v1 import agent_pb2 as pb
from edgebench.v1 import agent_pb2_grpc

from . import API_VERSION, __version__
from .auth import TokenAuthInterceptor
from .board import read_identity
from .contention import ContentionMonitor, ContentionSettings
from .jobs import JobLimits, JobManager, JobNotFinished, QueueFull, UnknownJob
from .measurement import JobMeasurement, MeasureSettings
from .model_store import ModelStore, UploadError, check_sha256
from .rpc_limits import RpcLimits, StreamLimiter
from .runtime_probe import RuntimeReport, probe_in_child
from .sensors import SensorConfig, SensorSet, discover_all
from .tls import TlsFiles, server_credentials

SERVICE_NAME = "edgebench.v1.Agent"
# What one message may bring the agent (gRPC's own default; a JobSpec with its .npy inputs; models come as 1 MiB
# upload chunks). A unary message is buffered whole before its handler runs, so this bounds what any caller
# makes the agent hold per call; larger input arrays go by upload (InputData.npy_sha256).
MAX_RECEIVE_BYTES = 4 << 20
MAX_SEND_BYTES = 64 << 20  # results carry every raw sample (job_results.MAX_RESULT_BYTES keeps them under)
MAX_THREADS_PER_JOB = 1024
MAX_INPUT_ELEMENTS = 1 << 31
MAX_TEXT_FIELD = 4096  # names, providers, paths, ids: anything longer is a bug or an attack, not a model
MAX_SPEC_ITEMS = 1024  # delegate options, input shapes, input arrays
MAX_INPUT_RANK = 64
MAX_FRAME_RATE_HZ = 10_000.0  # real-time mode: faster than this is no camera, and sleep() cannot pace it
MAX_BATCH_ITEMS = 4096  # a kernel suite is hundreds; more is a mistake, and a result must fit one message
GRAPH_OPTIMIZATION_LEVELS = ("", "disable", "basic", "extended", "layout", "all")


@dataclass
class AgentConfig:
    state_dir: str
    max_model_bytes: int = 512 << 20
    limits: JobLimits = field(default_factory=JobLimits)
    sysfs_root: str = "/"
    rpc: RpcLimits = field(default_factory=RpcLimits)
    # Sensors: None discovers none (the agent measures latency only).
    sensors: SensorConfig | None = None
    measure: MeasureSettings = field(default_factory=MeasureSettings)
    # What else used the worker's CPUs during each job (read from /proc, with or without sensors).
    contention: ContentionSettings = field(default_factory=ContentionSettings)
    # Every call but the health service's must carry this bearer token ("": no token check).
    token: str = ""
    # TLS on the port (None: plaintext); with a client CA, mutual TLS.
    tls: TlsFiles | None = None


class RuntimeCatalogue:
    """Runtimes found by a child probe, started at agent start-up so the first Describe is quick."""

    def __init__(self) -> None:
        self._reports: list[RuntimeReport] | None = None
        self._done = threading.Event()
        threading.Thread(target=self._probe, name="runtime-probe", daemon=True).start()

    def _probe(self) -> None:
        self._reports = probe_in_child()
        self._done.set()

    def reports(self, wait_s: float = 120.0) -> list[RuntimeReport]:
        self._done.wait(wait_s)
        return self._reports or []


class AgentService(agent_pb2_grpc.AgentServicer):
    def __init__(self, config: AgentConfig, models: ModelStore, jobs: JobManager) -> None:
        self.config = config
        self.models = models
        self.jobs = jobs
        self.streams = StreamLimiter(config.rpc.max_streams, config.rpc.max_streams_per_peer)
        self.runtimes = RuntimeCatalogue()
        self.sensor_infos: list[pb.SensorInfo] = []  # filled by the sensor add-on when present

    # ------------------------------------------------------------------ describe

    def Describe(self, request: pb.DescribeRequest, context: grpc.ServicerContext) -> pb.BoardDescription:
        ident = read_identity(self.config.sysfs_root)
        desc = pb.BoardDescription(
            agent_version=__version__, api_version=API_VERSION, hostname=ident.hostname,
            board_model=ident.board_model, soc=ident.soc, machine=ident.machine, os=ident.os,
            kernel=ident.kernel, python_version=ident.python_version, cpu_count=ident.cpu_count,
            memory_total_bytes=ident.memory_total_bytes, cpu_governor=ident.cpu_governor,
            fingerprint=ident.fingerprint(), max_model_bytes=self.models.max_model_bytes,
            max_queue=self.jobs.limits.max_queue, default_tflite_delegate="xnnpack",
        )
        for r in self.runtimes.reports():
            desc.runtimes.add(name=r.name, version=r.version, available=r.available, reason=r.reason,
                              execution_providers=r.execution_providers, package=r.package)
        desc.sensors.add(name="worker-memory", kind="memory", unit="KiB", available=True,
                         source="/proc/<worker>/status VmRSS, VmHWM",
                         note="the worker's own peak resident set (VmHWM), reset after model load")
        desc.sensors.extend(self.sensor_infos)
        return desc

    # ------------------------------------------------------------------ models

    def HasModel(self, request: pb.ModelRef, context: grpc.ServicerContext) -> pb.ModelStatus:
        try:
            stored = self.models.get(request.sha256)
        except UploadError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        if stored is None:
            return pb.ModelStatus(sha256=request.sha256, present=False)
        return pb.ModelStatus(sha256=stored.sha256, present=True, size_bytes=stored.size_bytes)

    def UploadModel(self, request_iterator: Iterator[pb.UploadChunk], context: grpc.ServicerContext) -> pb.ModelStatus:
        self.streams.admit(context, "upload")
        first = next(request_iterator, None)
        if first is None or first.WhichOneof("part") != "header":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "an upload must start with its header")
        header = first.header
        if len(header.name) > MAX_TEXT_FIELD:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"the model's name is over {MAX_TEXT_FIELD} characters")

        def data() -> Iterator[bytes]:
            for chunk in request_iterator:
                if chunk.WhichOneof("part") != "data":
                    raise UploadError("INVALID_ARGUMENT", "only the first upload message may be a header")
                yield chunk.data

        try:
            stored = self.models.put_stream(header.sha256, header.size_bytes, data())
        except UploadError as exc:
            context.abort(getattr(grpc.StatusCode, exc.code), str(exc))
        except OSError as exc:  # disk full, permissions: nothing half-written stays behind
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, f"cannot store the model on the agent: {exc}")
        return pb.ModelStatus(sha256=stored.sha256, present=True, size_bytes=stored.size_bytes,
                              already_present=stored.already_present)

    # ------------------------------------------------------------------ jobs

    def Submit(self, request: pb.JobSpec, context: grpc.ServicerContext) -> pb.JobHandle:
        problem = self._check_spec(request)
        if problem:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
        missing = self._missing_model(request)
        if missing:
            context.abort(grpc.StatusCode.NOT_FOUND, missing)
        try:
            job, position = self.jobs.submit(request)
        except QueueFull as exc:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
        except OSError as exc:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, f"cannot record the job on the agent: {exc}")
        return pb.JobHandle(job_id=job.job_id, queue_position=position)

    def _missing_model(self, spec: pb.JobSpec) -> str:
        for data in spec.inputs:
            if data.npy_sha256 and self.models.get(data.npy_sha256) is None:
                return f"input {data.name!r}: array {data.npy_sha256} is not on this agent: upload it first"
        if not spec.batch:
            if self.models.get(spec.model_sha256) is None:
                return f"model {spec.model_sha256} is not on this agent: upload it first"
            return ""
        seen: set[str] = set()
        for index, item in enumerate(spec.batch):
            if item.model_sha256 in seen:
                continue
            if self.models.get(item.model_sha256) is None:
                return f"batch item {index}: model {item.model_sha256} is not on this agent: upload it first"
            seen.add(item.model_sha256)
        return ""

    def _check_spec(self, spec: pb.JobSpec) -> str:
        problem = _non_finite_field(spec) or _oversized_field(spec) or _check_batch(spec)
        if problem:
            return problem
        if not spec.batch:
            try:
                check_sha256(spec.model_sha256)
            except UploadError as exc:
                return str(exc)
        for data in spec.inputs:
            if data.npy_sha256:
                if data.npy:
                    return f"input {data.name!r}: give npy or npy_sha256, not both"
                try:
                    check_sha256(data.npy_sha256)
                except UploadError as exc:
                    return f"input {data.name!r}: {exc}"
        if spec.graph_optimization_level not in GRAPH_OPTIMIZATION_LEVELS:
            return (f"graph_optimization_level {spec.graph_optimization_level[:80]!r} is not one of "
                    f"{', '.join(repr(level) for level in GRAPH_OPTIMIZATION_LEVELS)}")
        if spec.runtime not in pb.Runtime.values():
            return f"unknown runtime {spec.runtime}"
        if spec.threads > MAX_THREADS_PER_JOB:
            return f"threads must be at most {MAX_THREADS_PER_JOB}"
        if (spec.min_duration_s < 0 or spec.timeout_s < 0 or spec.max_duration_s < 0
                or spec.min_duration_s > self.jobs.limits.max_timeout_s):
            return "durations must be non-negative and below the agent's maximum job time"
        if not 0 <= spec.sample_rate_hz <= 10_000:
            return "sample_rate_hz must be between 0 (agent default) and 10000"
        if spec.HasField("idle_baseline_s") and not 0 <= spec.idle_baseline_s <= 600:
            return "idle_baseline_s must be between 0 and 600"
        if spec.cooldown_to_c < 0 or spec.cooldown_timeout_s < 0 or spec.cooldown_timeout_s > 3600:
            return "cooldown_to_c and cooldown_timeout_s must be non-negative (cooldown at most 3600 s)"
        if not 0 <= spec.rate_hz <= MAX_FRAME_RATE_HZ or spec.deadline_ms < 0:
            return f"rate_hz must be between 0 (no real-time mode) and {MAX_FRAME_RATE_HZ:g}, deadline_ms not negative"
        if spec.deadline_ms and not spec.rate_hz:
            return "deadline_ms applies to real-time mode only: set rate_hz too"
        if spec.inter_op_threads > MAX_THREADS_PER_JOB:
            return f"inter_op_threads must be at most {MAX_THREADS_PER_JOB}"
        if spec.timeout_s > self.jobs.limits.max_timeout_s:
            return f"timeout_s is over the agent's maximum of {self.jobs.limits.max_timeout_s:g} s"
        for index, item in enumerate(spec.batch):
            problem = _check_shapes(item.input_shapes)
            if problem:
                return f"batch item {index}: {problem}"
        return _check_shapes(spec.input_shapes)

    def Watch(self, request: pb.WatchRequest, context: grpc.ServicerContext) -> Iterator[pb.JobEvent]:
        self.streams.admit(context, "watch")
        try:
            events = self.jobs.watch(request.job_id, context.is_active)
            yield from events
        except UnknownJob as exc:
            context.abort(grpc.StatusCode.NOT_FOUND, str(exc))

    def Cancel(self, request: pb.JobRef, context: grpc.ServicerContext) -> pb.JobStatus:
        try:
            return self.jobs.cancel(request.job_id).status()
        except UnknownJob as exc:
            context.abort(grpc.StatusCode.NOT_FOUND, str(exc))

    def ListJobs(self, request: pb.ListJobsRequest, context: grpc.ServicerContext) -> pb.JobList:
        return pb.JobList(jobs=[job.status() for job in self.jobs.list()])

    def Collect(self, request: pb.JobRef, context: grpc.ServicerContext) -> pb.JobStatus:
        try:
            return self.jobs.collect(request.job_id).status()
        except UnknownJob as exc:
            context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        except JobNotFinished as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))


def _non_finite_field(message: Message, prefix: str = "") -> str:
    """A NaN or infinity in any float field passes every range check (NaN < 0 and NaN > max are both false):
    refuse it by name, in the spec and in every message inside it."""
    for field_desc, value in message.ListFields():
        name = prefix + field_desc.name
        if field_desc.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            values = value if _is_repeated(field_desc) else [value]
            if not all(math.isfinite(v) for v in values):
                return f"{name} must be a finite number, not {next(v for v in values if not math.isfinite(v))}"
        elif field_desc.type == FieldDescriptor.TYPE_MESSAGE and not field_desc.message_type.GetOptions().map_entry:
            for index, item in enumerate(value if _is_repeated(field_desc) else [value]):
                problem = _non_finite_field(item, f"{name}[{index}]." if _is_repeated(field_desc) else f"{name}.")
                if problem:
                    return problem
    return ""


def _is_repeated(field_desc: FieldDescriptor) -> bool:
    flag = getattr(field_desc, "is_repeated", None)  # newer protobuf; older ones only have `label`
    return bool(flag) if flag is not None else field_desc.label == FieldDescriptor.LABEL_REPEATED


def _check_shapes(shapes) -> str:
    for shape in shapes:
        elements = 1
        for d in shape.dims:
            if d <= 0:
                return f"input {shape.name!r}: every dim must be positive"
            elements *= d
        if elements > MAX_INPUT_ELEMENTS:
            return f"input {shape.name!r}: {elements} elements is absurd (limit {MAX_INPUT_ELEMENTS})"
    return ""


def _check_batch(spec: pb.JobSpec) -> str:
    """A batch names every model in its items; the job-level per-model fields would be ambiguous."""
    if not spec.batch:
        return ""
    if len(spec.batch) > MAX_BATCH_ITEMS:
        return f"the batch has {len(spec.batch)} items; at most {MAX_BATCH_ITEMS} per job"
    for what, present in (("model_sha256", bool(spec.model_sha256)), ("input_shapes", bool(spec.input_shapes)),
                          ("inputs", bool(spec.inputs)), ("profile_ops", spec.profile_ops),
                          ("return_optimized_model", spec.return_optimized_model)):
        if present:
            return f"a batch job sets {what} per batch item, not on the job: leave JobSpec.{what} unset"
    for index, item in enumerate(spec.batch):
        try:
            check_sha256(item.model_sha256)
        except UploadError as exc:
            return f"batch item {index}: {exc}"
    return ""


def _oversized_field(spec: pb.JobSpec) -> str:
    texts = [("model_name", spec.model_name), ("execution_provider", spec.execution_provider),
             ("delegate_path", spec.delegate_path), ("client_id", spec.client_id),
             ("graph_optimization_level", spec.graph_optimization_level)]
    texts += [("delegate option", k + v) for k, v in spec.delegate_options.items()]
    texts += [("provider option", k + v) for k, v in spec.provider_options.items()]
    shapes = [*spec.input_shapes, *(s for item in spec.batch for s in item.input_shapes)]
    texts += [("input name", i.name) for i in [*shapes, *spec.inputs]]
    texts += [("batch model_name", item.model_name) for item in spec.batch]
    for what, text in texts:
        if len(text) > MAX_TEXT_FIELD:
            return f"{what} is {len(text)} characters long (limit {MAX_TEXT_FIELD})"
    counts = [len(spec.delegate_options), len(spec.provider_options), len(spec.input_shapes), len(spec.inputs),
              *(len(item.input_shapes) for item in spec.batch)]
    if max(counts) > MAX_SPEC_ITEMS:
        return f"at most {MAX_SPEC_ITEMS} delegate/provider options, input shapes and input arrays each"
    for shape in shapes:
        if len(shape.dims) > MAX_INPUT_RANK:
            return f"input {shape.name!r}: rank {len(shape.dims)} is over the limit of {MAX_INPUT_RANK}"
    return ""


@dataclass
class RunningAgent:
    server: grpc.Server
    port: int
    service: AgentService
    jobs: JobManager
    health: health.HealthServicer
    sensors: SensorSet | None = None

    def stop(self, grace_s: float = 5.0) -> None:
        self.health.enter_graceful_shutdown()
        self.jobs.shutdown()
        self.server.stop(grace_s).wait()
        if self.sensors is not None:
            self.sensors.close()


def start_agent(config: AgentConfig, listen: str) -> RunningAgent:
    from pathlib import Path

    state = Path(config.state_dir)
    models = ModelStore(state / "models", config.max_model_bytes)
    jobs = JobManager(state, models, config.limits)
    service = AgentService(config, models, jobs)
    sensors = None
    if config.sensors is not None:
        # Once, at start-up: file and command probes only (no runtime is imported for Describe).
        sensors = discover_all(config.sensors)
        service.sensor_infos = [pb.SensorInfo(**info.to_proto_fields()) for info in sensors.infos()]
        measure = JobMeasurement(sensors, config.measure)
        jobs.before_worker.append(measure.before_worker)
        jobs.after_worker.append(measure.after_worker)
    contention = ContentionMonitor(config.contention)
    jobs.before_worker.append(contention.before_worker)
    jobs.after_worker.append(contention.after_worker)
    credentials = server_credentials(config.tls) if config.tls is not None else None
    interceptors = [TokenAuthInterceptor(config.token, max_open_calls=config.rpc.max_open_calls)] \
        if config.token else None
    server = grpc.server(
        # Streams take at most max_streams of these threads (StreamLimiter): short calls always find one.
        futures.ThreadPoolExecutor(max_workers=config.rpc.threads, thread_name_prefix="rpc"),
        interceptors=interceptors,
        options=[
            ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
            ("grpc.max_send_message_length", MAX_SEND_BYTES),
            ("grpc.so_reuseport", 0),
            # Without BDP probing each stream's HTTP/2 window stays at 64 KiB: a caller's bytes that no handler
            # reads (a refused call's body) are never taken in beyond it. With it, 64 unauthenticated 60 MiB
            # calls still grew the agent from 42 to 130 MB; without, to 44 MB. Uploads over loopback: 43 MiB/s
            # against 50 (they hash and fsync as they go).
            ("grpc.http2.bdp_probe", 0),
            # Accept the controller's keepalive pings (it sends one every 10 s, even with no call open), and
            # ping it back: an upload from a controller that dropped off the network is ended (and its
            # partial file removed) within about 30 s, not after TCP's two hours.
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", 5000),
            ("grpc.keepalive_time_ms", 20_000),
            ("grpc.keepalive_timeout_ms", 10_000),
        ],
        maximum_concurrent_rpcs=config.rpc.max_concurrent_rpcs,
    )
    agent_pb2_grpc.add_AgentServicer_to_server(service, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_secure_port(listen, credentials) if credentials else server.add_insecure_port(listen)
    if port == 0:
        raise OSError(f"cannot listen on {listen}")
    server.start()
    jobs.start()
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return RunningAgent(server, port, service, jobs, health_servicer, sensors)
