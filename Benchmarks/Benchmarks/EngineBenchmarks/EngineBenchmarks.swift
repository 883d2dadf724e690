// DJCore engine benchmarks (package-benchmark 1.38).
//
// 1. Period render: the audio thread's whole job for one period (`RenderContext.renderPeriod()`),
//    48 kHz, {1, 4} playing decks x {64, 128, 256}-frame periods, bit-exact (rate 1.0) and
//    varispeed (rate 1.03, libsamplerate). One benchmark iteration = one period.
// 2. Offline render: 60 s of a 4-deck engine (2 decks playing with varispeed, a crossfade) through
//    `OfflineRenderer` with 1024-frame periods into a preallocated buffer.
// 3. Track load: decode + resample a 60 s 44.1 kHz WAV to 48 kHz at each libsamplerate quality.
//
// All audio material is generated in the per-benchmark setup hooks, never inside a measured region.

import Benchmark
import DJCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Clocks

/// Monotonic wall time in nanoseconds (vDSO `clock_gettime`, no system call on a TSC clock source).
@inline(__always)
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// CPU time of the calling thread in nanoseconds. package-benchmark's `cpuTotal` on Linux comes from
/// /proc/self/stat in scheduler ticks (10 ms), so the custom CPU-based metrics use this instead.
func threadCPUNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

// MARK: - Custom metrics

enum Metrics {
    /// Render time of one period as a share of the period's duration, in hundredths of a percent
    /// (package-benchmark records integers): 152 means 1.52 % of the period was spent rendering.
    static let periodLoad = BenchmarkMetric.custom("Period load (0.01 %)", polarity: .prefersSmaller, useScalingFactor: false)
    /// Audio seconds rendered per second of render-thread CPU time.
    static let offlineSpeed = BenchmarkMetric.custom("x real time (audio s / CPU s)", polarity: .prefersLarger, useScalingFactor: false)
    /// Audio seconds decoded and resampled per second of wall time.
    static let loadSpeed = BenchmarkMetric.custom("x real time (audio s / wall s)", polarity: .prefersLarger, useScalingFactor: false)
    /// Audio seconds analysed per second of process CPU time (all threads of the analysis).
    static let tasksPerSecond = BenchmarkMetric.custom("tasks per second (wall)", polarity: .prefersLarger, useScalingFactor: false)
    static let analysisSpeed = BenchmarkMetric.custom("x real time (audio s / CPU s, all threads)", polarity: .prefersLarger, useScalingFactor: false)
}

/// Zero at every percentile: a single allocation in any period is a regression (used by
/// `baseline check` / `thresholds check`).
private var noAllocations: BenchmarkThresholds {
    BenchmarkThresholds(absolute: [.p0: 0, .p25: 0, .p50: 0, .p75: 0, .p90: 0, .p99: 0, .p100: 0])
}

// MARK: - Material

private let engineRate = 48_000

/// A deterministic stand-in for a club track: kick on every beat, off-beat hi-hats, a bass line and
/// a pink-ish noise bed (decorrelated left/right), soft-clipped to about -3 dBFS peak.
func makeMaterial(seconds: Double, sampleRate: Int, bpm: Double, seed: UInt64) -> [Float] {
    let frames = Int(seconds * Double(sampleRate))
    let sr = Float(sampleRate)
    var out = [Float](repeating: 0, count: frames * 2)
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    @inline(__always) func noise() -> Float { // xorshift64*, uniform in [-1, 1)
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return Float(Int64(bitPattern: state &* 2_685_821_657_736_338_717) >> 11) * (1.0 / 4_503_599_627_370_496.0)
    }
    let beat = Int(Double(sampleRate) * 60 / bpm)
    let half = beat / 2
    let bassNotes: [Float] = [55, 55, 82.41, 73.42] // A1 A1 E2 D2
    let kickDecay = expf(-6 / sr), sweepDecay = expf(-30 / sr), hatDecay = expf(-60 / sr), bassDecay = expf(-4 / sr)
    let twoPi = 2 * Float.pi
    var kickEnv: Float = 0, kickSweep: Float = 0, kickPhase: Float = 0
    var hatEnv: Float = 0, hatLP: Float = 0
    var bassEnv: Float = 0, bassPhase: Float = 0, bassFreq: Float = 55
    var padL1: Float = 0, padL2: Float = 0, padR1: Float = 0, padR2: Float = 0
    out.withUnsafeMutableBufferPointer { o in
        for i in 0..<frames {
            let inBeat = i % beat
            if inBeat == 0 {
                kickEnv = 1; kickSweep = 1; kickPhase = 0
                bassFreq = bassNotes[(i / beat) % bassNotes.count]
            }
            if inBeat == half { hatEnv = 1; bassEnv = 1 }
            // Kick: 150 Hz -> 50 Hz pitch sweep.
            kickPhase += twoPi * (50 + 100 * kickSweep) / sr
            if kickPhase > twoPi { kickPhase -= twoPi }
            let kick = 0.9 * kickEnv * sinf(kickPhase)
            kickEnv *= kickDecay; kickSweep *= sweepDecay
            // Hi-hat: high-passed noise burst.
            let n = noise()
            hatLP += 0.2 * (n - hatLP)
            let hat = 0.25 * hatEnv * (n - hatLP)
            hatEnv *= hatDecay
            // Bass on the off-beat.
            bassPhase += twoPi * bassFreq / sr
            if bassPhase > twoPi { bassPhase -= twoPi }
            let bass = 0.35 * bassEnv * sinf(bassPhase)
            bassEnv *= bassDecay
            // Noise bed: two one-pole low-passes per side.
            padL1 += 0.05 * (noise() - padL1); padL2 += 0.3 * (padL1 - padL2)
            padR1 += 0.05 * (noise() - padR1); padR2 += 0.3 * (padR1 - padR2)
            let mono = kick + bass
            o[2 * i] = 0.7 * tanhf(mono + hat * 0.8 + 0.6 * padL2)
            o[2 * i + 1] = 0.7 * tanhf(mono + hat * 1.2 + 0.6 * padR2)
        }
    }
    return out
}

/// Four 64 s tracks at the engine rate, made once per benchmark process on first use (in a setup hook).
private let deckTracks: [Track] = [124.0, 126, 128, 122].enumerated().map { index, bpm in
    let samples = makeMaterial(seconds: 64, sampleRate: engineRate, bpm: bpm, seed: UInt64(index + 1))
    return try! Track(interleavedStereo: samples, sampleRate: engineRate, name: "generated \(Int(bpm)) BPM")
}

// MARK: - 1. Period render

/// One engine set up for a period-render benchmark, built in the setup hook and torn down after.
private final class PeriodRig: @unchecked Sendable {
    let playingDecks: Int
    let periodFrames: Int
    let rate: Double
    let quality: ResampleQuality
    /// Nanoseconds of audio in one period (64 frames at 48 kHz = 1 333 333 ns).
    let periodNanos: Double
    private(set) var engine: Engine?
    private(set) var context: RenderContext?

    init(playingDecks: Int, periodFrames: Int, rate: Double, quality: ResampleQuality = .fastest) {
        self.playingDecks = playingDecks
        self.periodFrames = periodFrames
        self.rate = rate
        self.quality = quality
        periodNanos = Double(periodFrames) * 1e9 / Double(engineRate)
    }

    func setUp() throws {
        var cfg = EngineConfiguration(sampleRate: engineRate, decks: 4)
        cfg.varispeedQuality = quality // .fastest is the engine's default
        let engine = try Engine(configuration: cfg)
        let sides: [CrossfaderSide] = [.a, .b, .a, .b]
        let filters: [Double] = [-0.3, 0.25, -0.3, 0.25] // low-pass on A decks, high-pass on B decks
        for deck in 1...4 {
            if deck <= playingDecks {
                let track = deckTracks[deck - 1]
                try engine.send(.load(deck: deck, track: track))
                // A 30 s loop (16 bars at 128 BPM): the deck never runs out, whatever the iteration count.
                try engine.send(.loop(deck: deck, start: 0, end: Int64(30 * engineRate)))
                try engine.send(.rate(deck: deck, rate, .immediate))
                try engine.send(.play(deck: deck))
            }
            // EQ, filter and crossfader assignment on every channel (the mixer processes all four
            // strips whether or not their deck plays).
            try engine.send(.eq(deck: deck, band: .low, db: -6))
            try engine.send(.eq(deck: deck, band: .mid, db: -1.5))
            try engine.send(.eq(deck: deck, band: .high, db: 2))
            try engine.send(.filter(deck: deck, filters[deck - 1]))
            try engine.send(.assign(deck: deck, sides[deck - 1]))
        }
        try engine.send(.crossfader(0.2))
        let context = try RenderContext(engine: engine, periodFrames: periodFrames)
        context.warmUp()
        // Two seconds of audio: commands applied, ramps finished, converters primed, caches warm.
        for _ in 0..<(2 * engineRate / periodFrames) { context.renderPeriod() }
        engine.pollEvents()

        // Make sure we measure what the name says.
        let state = engine.state()
        for deck in state.decks where deck.number <= playingDecks {
            guard deck.playing, deck.loopActive, deck.rate == rate, deck.varispeed == (rate != 1.0) else {
                throw BenchmarkSetupError("deck \(deck.number) is not in the intended state: \(deck)")
            }
        }
        guard state.master.peak.max() ?? 0 > 0.01 else {
            throw BenchmarkSetupError("the master is silent after warm-up")
        }
        self.engine = engine
        self.context = context
    }

    func tearDown() {
        engine?.pollEvents()
        context = nil
        engine = nil
    }
}

private struct BenchmarkSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

private func registerPeriodBenchmarks() {
    var rigs: [(name: String, rig: PeriodRig)] = []
    for (rate, label) in [(1.0, "bit-exact 1.0"), (1.03, "varispeed 1.03")] {
        for playingDecks in [1, 4] {
            for periodFrames in [64, 128, 256] {
                let decks = playingDecks == 1 ? "1 deck" : "\(playingDecks) decks"
                rigs.append(("Period \(decks) \(label) \(periodFrames) frames",
                             PeriodRig(playingDecks: playingDecks, periodFrames: periodFrames, rate: rate)))
            }
        }
    }
    // The varispeed converter's quality is an engine setting (.fastest by default): what the other two cost.
    for quality in [ResampleQuality.medium, .best] {
        rigs.append(("Period 4 decks varispeed 1.03 64 frames \(quality.rawValue) quality",
                     PeriodRig(playingDecks: 4, periodFrames: 64, rate: 1.03, quality: quality)))
    }
    for (name, rig) in rigs {
        Benchmark(
            name,
            configuration: .init(
                metrics: [.wallClock, .mallocCountTotal, Metrics.periodLoad],
                timeUnits: .nanoseconds,
                units: [Metrics.periodLoad: .count],
                warmupIterations: 1_000,
                maxDuration: .seconds(3),
                maxIterations: 150_000,
                thresholds: [
                    .mallocCountTotal: noAllocations,
                    .wallClock: .init(relative: [.p50: 10, .p90: 15]),
                    Metrics.periodLoad: .init(relative: [.p50: 10, .p90: 15]),
                ],
                setup: { try rig.setUp() },
                teardown: { rig.tearDown() }
            )
        ) { benchmark in
            // One iteration = one period. The benchmark's wallClock brackets this closure; the
            // load metric is the same render timed with the monotonic clock right around it.
            let context = rig.context.unsafelyUnwrapped
            let start = monotonicNanos()
            context.renderPeriod()
            let elapsed = monotonicNanos() &- start
            benchmark.measurement(Metrics.periodLoad, Int((Double(elapsed) * 10_000 / rig.periodNanos).rounded()))
        }
    }
}

// MARK: - 2. Offline render

private final class OfflineRig: @unchecked Sendable {
    static let seconds = 60
    static let periodFrames = 1024
    let totalFrames = UInt64(seconds * engineRate)
    private(set) var buffer: UnsafeMutableBufferPointer<Float>?
    private(set) var timeline: [TimedCommand] = []

    func setUp() {
        _ = deckTracks // generate outside the measured region
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: Int(totalFrames) * 2)
        buffer.initialize(repeating: 0) // touch every page now, not while rendering
        self.buffer = buffer
        let f = UInt64(engineRate)
        // Deck 1 (A) plays from the top at +3 %, deck 2 (B) at -2 %, both with EQ and filter; decks 3
        // and 4 stay empty. At 20 s a 16 s crossfade from A to B with a bass swap, and a filter sweep
        // on the outgoing deck.
        timeline = [
            TimedCommand(frame: 0, command: .load(deck: 1, track: deckTracks[0])),
            TimedCommand(frame: 0, command: .load(deck: 2, track: deckTracks[1])),
            TimedCommand(frame: 0, command: .assign(deck: 1, .a)),
            TimedCommand(frame: 0, command: .assign(deck: 2, .b)),
            TimedCommand(frame: 0, command: .rate(deck: 1, 1.03, .immediate)),
            TimedCommand(frame: 0, command: .rate(deck: 2, 0.98, .immediate)),
            TimedCommand(frame: 0, command: .eq(deck: 1, band: .high, db: 1.5)),
            TimedCommand(frame: 0, command: .eq(deck: 2, band: .low, db: -.infinity)),
            TimedCommand(frame: 0, command: .filter(deck: 2, 0.2)),
            TimedCommand(frame: 0, command: .crossfader(-1, .immediate)),
            TimedCommand(frame: 0, command: .play(deck: 1)),
            TimedCommand(frame: 0, command: .play(deck: 2)),
            TimedCommand(frame: 20 * f, command: .crossfader(1, .frames(16 * engineRate))),
            TimedCommand(frame: 20 * f, command: .filter(deck: 2, 0, .frames(4 * engineRate))),
            TimedCommand(frame: 28 * f, command: .eq(deck: 2, band: .low, db: 0, .frames(engineRate / 2))),
            TimedCommand(frame: 28 * f, command: .eq(deck: 1, band: .low, db: -.infinity, .frames(engineRate / 2))),
            TimedCommand(frame: 28 * f, command: .filter(deck: 1, -0.7, .frames(8 * engineRate))),
            TimedCommand(frame: 40 * f, command: .pause(deck: 1)),
        ]
    }

    func tearDown() {
        buffer?.deallocate()
        buffer = nil
        timeline = []
    }
}

private func registerOfflineBenchmark() {
    let rig = OfflineRig()
    Benchmark(
        "Offline render 60 s mix 1024-frame periods",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal, .mallocCountTotal, Metrics.offlineSpeed],
            timeUnits: .milliseconds,
            units: [Metrics.offlineSpeed: .count],
            warmupIterations: 1,
            maxDuration: .seconds(10),
            maxIterations: 15,
            thresholds: [
                .wallClock: .init(relative: [.p50: 10, .p90: 15]),
                Metrics.offlineSpeed: .init(relative: [.p50: 10, .p90: 15]),
            ],
            setup: { rig.setUp() },
            teardown: { rig.tearDown() }
        )
    ) { benchmark in
        // A fresh engine per iteration (not measured), so every iteration renders the same mix.
        let engine = try Engine(configuration: EngineConfiguration(sampleRate: engineRate, decks: 4))
        let renderer = try OfflineRenderer(engine: engine, periodFrames: OfflineRig.periodFrames)
        let out = rig.buffer.unsafelyUnwrapped
        var written = 0

        benchmark.startMeasurement()
        let cpuStart = threadCPUNanos()
        try renderer.render(frames: rig.totalFrames, timeline: rig.timeline) { master, _ in
            UnsafeMutableRawPointer(out.baseAddress! + written)
                .copyMemory(from: master.baseAddress!, byteCount: master.count * MemoryLayout<Float>.stride)
            written += master.count
        }
        let cpu = threadCPUNanos() &- cpuStart
        benchmark.stopMeasurement()

        guard written == Int(rig.totalFrames) * 2 else {
            benchmark.error("rendered \(written / 2) frames, expected \(rig.totalFrames)")
            return
        }
        guard out.reduce(Float(0), { max($0, abs($1)) }) > 0.01 else {
            benchmark.error("the rendered mix is silent")
            return
        }
        benchmark.measurement(Metrics.offlineSpeed, Int((Double(OfflineRig.seconds) * 1e9 / Double(cpu)).rounded()))
        blackHole(out[Int.random(in: 0..<out.count)])
    }
}

// MARK: - 3. Track load (decode + resample)

private final class LoadRig: @unchecked Sendable {
    static let seconds = 60
    static let fileRate = 44_100
    private(set) var path = ""

    func setUp() throws {
        path = "/tmp/djcore-bench-\(getpid()).wav"
        let samples = makeMaterial(seconds: Double(Self.seconds), sampleRate: Self.fileRate, bpm: 126, seed: 42)
        let writer = try AudioFileWriter(path: path, sampleRate: Self.fileRate, channels: 2, format: .wav16)
        try writer.write(samples)
        try writer.close()
    }

    func tearDown() {
        if !path.isEmpty { unlink(path) }
    }
}

private func registerLoadBenchmarks() {
    // Decode only (no rate conversion) first, then each libsamplerate quality 44.1 -> 48 kHz.
    let cases: [(label: String, rate: Int, quality: ResampleQuality, iterations: Int)] = [
        ("decode only, 44.1 kHz kept", LoadRig.fileRate, .medium, 20),
        ("-> 48 kHz fastest", engineRate, .fastest, 15),
        ("-> 48 kHz medium", engineRate, .medium, 10),
        ("-> 48 kHz best", engineRate, .best, 5),
    ]
    for c in cases {
        let rig = LoadRig()
        Benchmark(
            "Track load 60 s WAV16 44.1 kHz \(c.label)",
            configuration: .init(
                metrics: [.wallClock, .cpuTotal, .mallocCountTotal, Metrics.loadSpeed],
                timeUnits: .milliseconds,
                units: [Metrics.loadSpeed: .count],
                warmupIterations: 1, // pulls the file into the page cache
                maxDuration: .seconds(10),
                maxIterations: c.iterations,
                thresholds: [
                    .wallClock: .init(relative: [.p50: 10, .p90: 15]),
                    Metrics.loadSpeed: .init(relative: [.p50: 10, .p90: 15]),
                ],
                setup: { try rig.setUp() },
                teardown: { rig.tearDown() }
            )
        ) { benchmark in
            let start = monotonicNanos()
            let track = try Track.load(path: rig.path, sampleRate: c.rate, quality: c.quality)
            let elapsed = monotonicNanos() &- start
            benchmark.stopMeasurement() // freeing the decoded audio is not part of the load
            let expected = Int64(LoadRig.seconds * c.rate)
            guard track.sampleRate == c.rate, abs(track.frameCount - expected) <= 64 else {
                benchmark.error("loaded \(track.frameCount) frames at \(track.sampleRate) Hz, expected \(expected) at \(c.rate)")
                return
            }
            benchmark.measurement(Metrics.loadSpeed, Int((Double(LoadRig.seconds) * 1e9 / Double(elapsed)).rounded()))
        }
    }
}

// MARK: - Registration

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        timeUnits: .automatic,
        warmupIterations: 1,
        maxDuration: .seconds(5),
        maxIterations: 1_000
    )
    registerPeriodBenchmarks()
    registerOfflineBenchmark()
    registerLoadBenchmarks()
    registerAnalysisBenchmarks()
    registerTeamBenchmarks()
}
