// Analysis throughput, DJCore beside aubio in the same process on the same audio.
//
// 1. DJCore, the whole analysis of a 120 s 44.1 kHz stereo WAV from its path (hash, decode, tempo, beats,
//    downbeats, key, loudness, waveform), no cache: what `djd analyze --no-cache` does.
// 2. DJCore, the whole analysis of the same audio already in memory.
// 3. aubio 0.4.9 `aubio_tempo` ("default" onset method, 1024/512, as `aubio tempo` runs it) over the
//    mono mix of the same audio: tempo and beats only.
// The metric is audio seconds per second of process CPU time (every thread counted), so "x real time on
// one core". The material is made in the setup hooks, never inside a measured region.

import Benchmark
import CAubio
import DJCore

#if canImport(Glibc)
import Glibc
#endif

/// CPU time of the whole process (all threads) in nanoseconds.
func processCPUNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

private final class AnalysisRig: @unchecked Sendable {
    static let seconds = 120.0
    static let rate = 44_100
    private(set) var path = ""
    private(set) var stereo: [Float] = []
    private(set) var mono: [Float] = []

    func setUp() throws {
        stereo = makeMaterial(seconds: Self.seconds, sampleRate: Self.rate, bpm: 126, seed: 7)
        mono = (0..<(stereo.count / 2)).map { 0.5 * (stereo[2 * $0] + stereo[2 * $0 + 1]) }
        path = "/tmp/djcore-bench-analysis-\(getpid()).wav"
        let writer = try AudioFileWriter(path: path, sampleRate: Self.rate, channels: 2, format: .wav16)
        try writer.write(stereo)
        try writer.close()
    }

    func tearDown() {
        if !path.isEmpty { unlink(path) }
        stereo = []
        mono = []
    }
}

private func analysisConfiguration(_ rig: AnalysisRig, iterations: Int) -> Benchmark.Configuration {
    .init(
        metrics: [.wallClock, Metrics.analysisSpeed],
        timeUnits: .milliseconds,
        units: [Metrics.analysisSpeed: .count],
        warmupIterations: 1,
        maxDuration: .seconds(20),
        maxIterations: iterations,
        thresholds: [Metrics.analysisSpeed: .init(relative: [.p50: 10, .p90: 15])],
        setup: { try rig.setUp() },
        teardown: { rig.tearDown() }
    )
}

/// Runs one DJCore analysis, checks its tempo and records its speed.
private func measureDJCore(_ benchmark: Benchmark, _ analyze: () throws -> TrackAnalysis) throws {
    let cpu0 = processCPUNanos()
    let a = try analyze()
    let cpu = processCPUNanos() &- cpu0
    benchmark.stopMeasurement()
    guard let bpm = a.bpm, abs(bpm - 126) < 0.05 else {
        benchmark.error("DJCore read \(a.bpm ?? 0) BPM, the material is at 126")
        return
    }
    benchmark.measurement(Metrics.analysisSpeed, Int((AnalysisRig.seconds * 1e9 / Double(cpu)).rounded()))
}

func registerAnalysisBenchmarks() {
    let fileRig = AnalysisRig()
    Benchmark("Analysis 120 s WAV whole track DJCore", configuration: analysisConfiguration(fileRig, iterations: 10)) { benchmark in
        let analyzer = try TrackAnalyzer()
        try measureDJCore(benchmark) { try analyzer.analyze(path: fileRig.path) }
    }

    let memoryRig = AnalysisRig()
    Benchmark("Analysis 120 s in memory whole track DJCore", configuration: analysisConfiguration(memoryRig, iterations: 10)) { benchmark in
        let analyzer = try TrackAnalyzer()
        try measureDJCore(benchmark) { try analyzer.analyze(stereo: memoryRig.stereo, sampleRate: AnalysisRig.rate) }
    }

    let aubioRig = AnalysisRig()
    Benchmark("Analysis 120 s in memory tempo and beats aubio", configuration: analysisConfiguration(aubioRig, iterations: 10)) { benchmark in
        let hop = 512, win = 1024
        let cpu0 = processCPUNanos()
        guard let tempo = new_aubio_tempo("default", UInt32(win), UInt32(hop), UInt32(AnalysisRig.rate)) else {
            benchmark.error("aubio: new_aubio_tempo failed")
            return
        }
        let input = new_fvec(UInt32(hop)), output = new_fvec(2)
        var beats = 0
        aubioRig.mono.withUnsafeBufferPointer { m in
            var start = 0
            while start + hop <= m.count {
                input!.pointee.data.update(from: m.baseAddress! + start, count: hop)
                aubio_tempo_do(tempo, input, output)
                if output!.pointee.data[0] != 0 { beats += 1 }
                start += hop
            }
        }
        let bpm = Double(aubio_tempo_get_bpm(tempo))
        del_aubio_tempo(tempo)
        del_fvec(input)
        del_fvec(output)
        let cpu = processCPUNanos() &- cpu0
        benchmark.stopMeasurement()
        guard beats > 100 else {
            benchmark.error("aubio found \(beats) beats (\(bpm) BPM)")
            return
        }
        benchmark.measurement(Metrics.analysisSpeed, Int((AnalysisRig.seconds * 1e9 / Double(cpu)).rounded()))
    }
}
