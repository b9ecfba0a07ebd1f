"""`controller calibrate`'s output: what was measured and fitted."""
from __future__ import annotations

from ..calibration.run import CalibrationResult


def summary(result: CalibrationResult) -> str:
    """What was measured and fitted, for the terminal."""
    m, p = result.measurements, result.profile
    lines = ["GEMM (onnxruntime MatMul / MatMulInteger), GFLOP/s by size:"]
    for key, sizes in sorted(m["gemm_gflops"].items()):
        lines.append(f"  {key:16s} " + "  ".join(f"{n}: {v:.1f}" for n, v in sizes.items()))
    lines.append("memory traffic (fp32 Add, 2 reads + 1 write), GB/s by elements: "
                 + "  ".join(f"{n}: {v:.1f}" for n, v in m["bandwidth_gbs"].items()))
    lines.append(f"dispatch overhead: {m['dispatch_us']:.2f} us/node (tiny-node chain), {p.dispatch_overhead_us.value:.2f} us/node fitted; runtime RSS: "
                 f"{m['runtime_rss_mb'] or 0:.1f} MB")
    lines.append(f"profile peak fp32 {p.peak('fp32'):.1f} GFLOP/s, int8 {p.peak('int8'):.1f} GOP/s "
                 f"(all {int(p.cores.value)} cores), bandwidth {p.memory_bandwidth_gbs.value:.1f} GB/s")
    lines.append("fitted efficiencies (kind: efficiency, kernels, measured ms, predicted ms):")
    for kind, f in result.fit.items():
        lines.append(f"  {kind:16s} {f['efficiency']:.3f}  {f['kernels']:4d}  {f['measured_ms']:9.2f}  "
                     f"{f['predicted_ms']:9.2f}")
    lines.append("reference models, in-sample (fitted on these): model, measured ms, predicted ms, error %")
    for r in result.in_sample:
        lines.append(f"  {r['model']:22s} {r['measured_ms']:9.2f}  {r['predicted_ms']:9.2f}  {r['error_pct']:+6.1f}")
    lines.append(f"stored {result.path} ({result.seconds:.1f} s)")
    return "\n".join(lines)
