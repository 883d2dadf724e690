import CDSP
import CRTCheck
import DJCore
import Foundation
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

    /// The live loop on the virtual device (`--output file:PATH`), which needs no sound card: the allocation
    /// counter armed on the audio thread from the start of its loop to its end (every clock-paced wait,
    /// render and ring write in between), and in the sanitizer build a real-time region around each render.
    @Test(arguments: [2, 4])
    func the_audio_thread_on_the_virtual_device_allocates_nothing(_ channels: Int) throws {
        let dir = try TestAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (engine, tracks) = try LiveDevice.busyEngine(reportApplied: channels == 4)
        try LiveDevice.setUp(engine, tracks) { try engine.send($0) }
        var c = AudioOutputConfiguration(virtual: .file(path: dir.appendingPathComponent("rt.wav").path))
        c.channels = channels
        c.lockMemory = false
        let (probe, scheduler) = try LiveDevice.playEveryCommand(engine, tracks, on: c)
        #expect(probe.finished == 1)
        #expect(probe.periods > 50)
        if crt_alloc_counter_available() == 1 {
            #expect(probe.allocations == 0, "the audio thread allocated \(probe.allocations) times")
        }
        let v = try #require(scheduler.stats.virtualOutput)
        #expect(v.droppedFrames == 0 && v.recordedFrames == UInt64(engine.frame))
    }

    /// The virtual device's write (ring push, 4-channel conversion) and delay, called directly inside the
    /// checked region: the sanitizer build proves them free of allocation, locks and blocking calls too.
    /// (Its wait sleeps on purpose, the audio thread's one legitimate block: it stays outside.)
    @Test(arguments: [2, 4])
    func the_virtual_device_writes_without_allocating_or_blocking(_ channels: Int) throws {
        var status = CDSP_OK
        let ring = try #require(cdsp_ring_create(4096, channels * 4, &status))
        defer { cdsp_ring_destroy(ring) }
        var info = cdsp_pcm_info()
        var req = cdsp_pcm_request_default("null", 48000)
        req.channels = UInt32(channels)
        req.period_frames = 256
        req.periods = 4
        let pcm = try #require(cdsp_pcm_open_virtual(&req, ring, &info, &status, nil, 0))
        defer { cdsp_pcm_close(pcm) }
        let master = [Float](repeating: 0.25, count: 512), cue = [Float](repeating: -0.5, count: 512)
        var delays: [Int] = []
        delays.reserveCapacity(40)
        var sink = [Float](repeating: 0, count: 256 * channels)
        var written = 0
        while written < 40 {
            // sleeps until a period is free: outside the region (a late test thread may underrun: re-prime)
            let w = cdsp_pcm_wait(pcm, 100)
            if w < 0 { #expect(cdsp_pcm_recover(pcm, w) == 0); continue }
            #expect(w == 1)
            var delay = 0
            let allocations = checked {
                _ = cdsp_pcm_write(pcm, master, cue, 256)
                _ = cdsp_pcm_delay(pcm, &delay)
            }
            #expect(allocations == 0)
            delays.append(delay)
            written += 1
            #expect(cdsp_ring_read(ring, &sink, 256) == 256)  // the writer side drains it
        }
        #expect(sink[0] == 0.25 && sink[channels - 1] == (channels == 4 ? -0.5 : 0.25))
        var st = cdsp_pcm_virtual_stats()
        #expect(cdsp_pcm_virtual_stats_get(pcm, &st) == 1)
        #expect(st.frames == 40 * 256 && st.dropped == 0)
        #expect(delays.allSatisfy { $0 <= 1024 })  // never more than the modelled buffer
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
