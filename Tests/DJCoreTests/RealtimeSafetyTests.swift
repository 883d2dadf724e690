import CRTCheck
import DJCore
import Testing

/// The real-time rule, checked: renders every engine configuration with the allocation counter armed
/// (normal builds) or inside a RealtimeSanitizer real-time region (the `.build-rtsan` build that
/// `.ci/run` makes: any malloc, free, lock or blocking call aborts the test process).
@Suite("Real-time safety")
struct RealtimeSafetyTests {
    struct Setup: CustomTestStringConvertible, Sendable {
        var decks: Int
        var quality: ResampleQuality
        var period: Int
        /// The engine reports every command's effective frame (`EngineEvent.applied`): on for the 4-deck setups.
        var reportsApplied: Bool { decks == 4 }
        var testDescription: String {
            "\(decks) decks, varispeed \(quality.rawValue), \(period) frames\(reportsApplied ? ", applied-command reports" : "")"
        }
    }

    static let setups: [Setup] = [1, 4].flatMap { decks in
        ResampleQuality.allCases.flatMap { q in [32, 64, 256, 1024].map { Setup(decks: decks, quality: q, period: $0) } }
    }

    /// Runs `body` between the armed checks; returns allocations seen (always 0 under rtsan: it aborts).
    func checked(_ body: () -> Void) -> UInt64 {
        crt_alloc_count_begin()
        crt_rtsan_enter()
        body()
        crt_rtsan_exit()
        return crt_alloc_count_end()
    }

    @Test(arguments: setups)
    func render_allocates_locks_and_blocks_nothing(_ s: Setup) throws {
        var cfg = EngineConfiguration(sampleRate: 48000, decks: s.decks)
        cfg.varispeedQuality = s.quality
        cfg.reportsAppliedCommands = s.reportsApplied
        let engine = try Engine(configuration: cfg)
        let ctx = try RenderContext(engine: engine, periodFrames: s.period)
        let tracks = try (0..<s.decks).map { i in
            try Track(interleavedStereo: TestAudio.noise(seconds: 3, amplitude: 0.9, seed: UInt32(i + 1)), sampleRate: 48000)
        }
        let spare = try Track(interleavedStereo: TestAudio.sine(330, seconds: 1), sampleRate: 48000)
        for d in 1...s.decks {
            try engine.send([.load(deck: d, track: tracks[d - 1]), .play(deck: d), .trim(deck: d, db: 12),
                             .assign(deck: d, d % 2 == 0 ? .b : .a), .cue(deck: d, true)])
        }
        ctx.warmUp()
        ctx.renderPeriod() // first period outside: Swift metadata, lazy C state
        let periods = max(8, 24_000 / s.period)
        // Commands that land inside the checked region: every kind, including a load that retires a
        // track, loops, seeks, ramps and a varispeed start.
        let now = engine.frame
        let p = UInt64(s.period)
        for d in 1...s.decks {
            try engine.send([.rate(deck: d, 1.0 + 0.02 * Double(d), .frames(1000)),
                             .eq(deck: d, band: .low, db: -.infinity, .frames(500)),
                             .kill(deck: d, band: .high, true),
                             .filter(deck: d, d % 2 == 0 ? 0.6 : -0.6, .frames(3000)),
                             .fader(deck: d, 0.8, .frames(300))], at: now + p + 7)
            try engine.send([.loop(deck: d, start: 1000, end: 9000), .seek(deck: d, frame: 2500.5)], at: now + 3 * p + 1)
            try engine.send([.loopExit(deck: d), .setCue(deck: d, frame: nil), .pause(deck: d)], at: now + 5 * p)
            try engine.send([.play(deck: d), .jumpToCue(deck: d)], at: now + 6 * p + 3)
        }
        try engine.send(.load(deck: 1, track: spare), at: now + 4 * p)
        try engine.send(.play(deck: 1), at: now + 4 * p + 1)
        try engine.send([.crossfader(0.3, .frames(5000)), .curve(.sharp), .masterGain(db: 6),
                         .cueMix(0.5), .limiterCeiling(db: -2)], at: now + 2 * p)
        let allocations = checked {
            for _ in 0..<periods { ctx.renderPeriod() }
        }
        #expect(allocations == 0)
        // The region really rendered audio with the limiter working.
        let s2 = engine.state()
        #expect(s2.frame == UInt64((periods + 1) * s.period))
        #expect(s2.master.peak[0] > 0.5)
        let events = engine.pollEvents()
        #expect(engine.retainedTrackCount == s.decks) // the replaced track came back and was released
        let applied = events.filter { if case .applied = $0 { true } else { false } }.count
        // every command sent above took effect and was reported: 5 + 12 per deck, 2 loads/plays, 5 master
        #expect(applied == (s.reportsApplied ? 17 * s.decks + 7 : 0))
    }

    @Test(.enabled(if: crt_alloc_counter_available() == 1, "the counter is left out of the sanitizer build"))
    func the_allocation_counter_sees_an_allocation() throws {
        let n = checkedAllocation()
        #expect(n >= 2)
    }

    func checkedAllocation() -> UInt64 {
        crt_alloc_count_begin()
        crt_allocate_something()
        return crt_alloc_count_end()
    }

    @Test(.enabled(if: crt_rtsan_available() == 1, "only in the -fsanitize=realtime build (.ci/run makes one)"))
    func the_sanitizer_aborts_on_an_allocation_in_a_realtime_region() async throws {
        await #expect(processExitsWith: .failure) {
            crt_rtsan_enter()
            crt_allocate_something()
            crt_rtsan_exit()
        }
    }
}
