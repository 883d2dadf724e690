import CDSP
import Testing

@Suite("Deck")
struct DeckTests {
    /// A track of deterministic noise, owned by the test.
    final class NoiseTrack {
        let frames: UnsafeMutablePointer<Float>
        var track: cdsp_track
        init(frames n: Int) {
            frames = .allocate(capacity: 2 * n)
            var s: UInt32 = 12345
            for i in 0..<(2 * n) {
                s = s &* 1664525 &+ 1013904223
                frames[i] = Float(Int32(bitPattern: s)) / Float(Int32.max) * 0.5
            }
            track = cdsp_track(frames: frames, length: Int64(n), sample_rate: 48000, channels: 2, id: 7)
        }
        deinit { frames.deallocate() }
    }

    func deck(declick: UInt32 = 0) throws -> OpaquePointer {
        var c = cdsp_deck_config_default(48000, 1024)
        c.declick_frames = declick
        var st = CDSP_OK
        return try #require(cdsp_deck_create(&c, &st))
    }

    /// Renders `total` frames in blocks of `block`.
    func render(_ d: OpaquePointer, _ total: Int, block: Int, start: UInt64 = 0) -> [Float] {
        var out = [Float](repeating: 0, count: 2 * total)
        var done = 0
        out.withUnsafeMutableBufferPointer { p in
            while done < total {
                let n = min(block, total - done)
                cdsp_deck_render(d, p.baseAddress! + 2 * done, UInt32(n), start + UInt64(done))
                done += n
            }
        }
        return out
    }

    @Test func rate_one_copies_the_track_bit_exact() throws {
        let t = NoiseTrack(frames: 20000)
        let d = try deck()
        defer { cdsp_deck_destroy(d) }
        withUnsafePointer(to: &t.track) { _ = cdsp_deck_load(d, $0, 1000) }
        cdsp_deck_play(d)
        let out = render(d, 5000, block: 77)
        #expect(Array(out) == Array(UnsafeBufferPointer(start: t.frames + 2000, count: 10000)))
    }

    @Test func four_beat_loop_plays_exactly_its_frames() throws {
        // 4 beats at 120 BPM, 48 kHz = 96000 frames.
        let t = NoiseTrack(frames: 200_000)
        let d = try deck()
        defer { cdsp_deck_destroy(d) }
        withUnsafePointer(to: &t.track) { _ = cdsp_deck_load(d, $0, 10000) }
        cdsp_deck_set_loop(d, 10000, 106_000)
        cdsp_deck_play(d)
        let out = render(d, 3 * 96000 + 500, block: 256)
        let loop = Array(UnsafeBufferPointer(start: t.frames + 20000, count: 2 * 96000))
        for k in 0..<3 {
            #expect(Array(out[(2 * 96000 * k)..<(2 * 96000 * (k + 1))]) == loop, "pass \(k + 1)")
        }
        var info = cdsp_deck_info()
        cdsp_deck_info_get(d, &info)
        #expect(info.position == 10500)
    }

    @Test func loop_wraps_identically_under_varispeed_for_any_block_size() throws {
        let t = NoiseTrack(frames: 100_000)
        var outs: [[Float]] = []
        for block in [32, 100, 1024] {
            let d = try deck(declick: 96)
            withUnsafePointer(to: &t.track) { _ = cdsp_deck_load(d, $0, 5000) }
            cdsp_deck_set_rate(d, 1.07, 480)
            cdsp_deck_set_loop(d, 5000, 17000)
            cdsp_deck_play(d)
            outs.append(render(d, 40000, block: block))
            cdsp_deck_destroy(d)
        }
        #expect(outs[0] == outs[1])
        #expect(outs[0] == outs[2])
    }

    @Test func pause_fades_out_over_declick_frames_and_stops() throws {
        let t = NoiseTrack(frames: 48000)
        let d = try deck(declick: 96)
        defer { cdsp_deck_destroy(d) }
        withUnsafePointer(to: &t.track) { _ = cdsp_deck_load(d, $0, 0) }
        cdsp_deck_play(d)
        _ = render(d, 1000, block: 1000)
        cdsp_deck_pause(d)
        let out = render(d, 200, block: 200, start: 1000)
        #expect(out[2 * 95] != 0 || out[2 * 94] != 0)
        #expect(out[(2 * 96)...].allSatisfy { $0 == 0 })
        var info = cdsp_deck_info()
        cdsp_deck_info_get(d, &info)
        #expect(info.playing == 0)
    }

    @Test func track_end_stops_the_deck_and_reports_it() throws {
        let t = NoiseTrack(frames: 1000)
        let d = try deck()
        defer { cdsp_deck_destroy(d) }
        withUnsafePointer(to: &t.track) { _ = cdsp_deck_load(d, $0, 900) }
        cdsp_deck_play(d)
        var out = [Float](repeating: 1, count: 512)
        let ended = out.withUnsafeMutableBufferPointer { cdsp_deck_render(d, $0.baseAddress, 256, 0) }
        #expect(ended == 1)
        #expect(out[200...].allSatisfy { $0 == 0 })
    }
}
