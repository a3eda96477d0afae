from bench.pipeline.provenance import cpu_info, environment


def test_cpu_info_reads_model_and_isa_flags(tmp_path):
    f = tmp_path / "cpuinfo"
    f.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7763 64-Core Processor\n"
                 "flags\t\t: fpu sse4_2 avx avx2 fma f16c bmi2\n\nprocessor\t: 1\nmodel name\t: other\n")
    info = cpu_info(f)
    assert info["model"] == "AMD EPYC 7763 64-Core Processor" and info["vendor"] == "AuthenticAMD"
    assert info["isa"] == ["sse4_2", "avx", "avx2", "fma", "f16c"]  # no avx512 on this CPU


def test_manifest_environment_has_cpu_and_kernel_settings(monkeypatch):
    monkeypatch.setenv("CT2_FORCE_CPU_ISA", "AVX2")
    env = environment()
    assert env["cpu"]["model"] and isinstance(env["cpu"]["isa"], list)
    assert env["kernel_env"]["CT2_FORCE_CPU_ISA"] == "AVX2"
