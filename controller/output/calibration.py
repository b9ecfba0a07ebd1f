"""`controller calibrate`'s output: what was measured, what was fitted, and how well it holds out."""
from __future__ import annotations

from ..calibration.run import CalibrationResult


def summary(result: CalibrationResult) -> str:
    m, p = result.measurements, result.profile
    lines = ["GEMM (onnxruntime MatMul / MatMulInteger), GFLOP/s by size:"]
    for key, sizes in sorted(m["gemm_gflops"].items()):
        lines.append(f"  {key:16s} " + "  ".join(f"{n}: {v:.1f}" for n, v in sizes.items()))
    lines.append("memory traffic (fp32 Add, 2 reads + 1 write), GB/s by elements: "
                 + "  ".join(f"{n}: {v:.1f}" for n, v in m["bandwidth_gbs"].items()))
    lines.append(f"dispatch overhead: {m['dispatch_us']:.2f} us/node (tiny-node chain); runtime RSS: "
                 f"{m['runtime_rss_mb'] or 0:.1f} MB")
    lines.append(f"profile peak fp32 {p.peak('fp32'):.1f} GFLOP/s, int8 {p.peak('int8'):.1f} GOP/s "
                 f"(all {int(p.cores.value)} cores), bandwidth {p.memory_bandwidth_gbs.value:.1f} GB/s")
    k = result.kernels
    lines.append(f"kernel suite: {k.measured_items} models measured, {k.reused_items} kept from earlier "
                 f"calibrations; the board ran suite jobs for {k.board_seconds:.0f} s")
    for est in result.budget:
        lines.append(f"  the same on a {est.board}: about {est.estimate.there_s / 60:.1f} min of board time "
                     f"(estimated: {est.estimate.how})")
    for rt, models in k.models.items():
        for threads, fit in sorted(models.fits.items()):
            fams = ", ".join(f"{name} {f.samples}" for name, f in fit.families.items())
            lines.append(f"  {rt} {models.version} ({models.ep}) threads={threads}: roofline "
                         f"{fit.roofline.ops_per_s / 1e9:.1f} GOP/s, {fit.roofline.bytes_per_s / 1e9:.1f} GB/s; "
                         f"cold weights {fit.cold_bytes_per_s / 1e9:.1f} GB/s beyond {fit.cache_bytes / 2**20:g} MiB "
                         f"touched; kernels per family: {fams}")
    lines.append("how the fit holds out (kernels: out-of-fold; networks: fitted on half, checked on the other):")
    lines.extend(result.check)
    lines.append(f"stored {result.path} ({result.seconds:.1f} s)")
    return "\n".join(lines)
