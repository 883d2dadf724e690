import CDSP
import Foundation
import Testing

@Suite("EQ, filter, crossfader, limiter")
struct MixerDSPTests {
    let rate = 48000.0

    func eq() throws -> OpaquePointer {
        var c = cdsp_eq3_config_default(rate)
        var st = CDSP_OK
        return try #require(cdsp_eq3_create(&c, &st))
    }

    /// Level (dB) of a steady tone after the EQ, measured on the last half second.
    func level(_ e: OpaquePointer, hz: Double) -> Double {
        var x = Signals.sine(hz, seconds: 1.5)
        let input = Signals.rms(x, from: 48000)
        x.withUnsafeMutableBufferPointer { cdsp_eq3_process(e, $0.baseAddress, 72000) }
        return Signals.db(Signals.rms(x, from: 48000) / input)
    }

    @Test func eq_unity_is_flat_within_a_hundredth_of_a_db() throws {
        let e = try eq()
        defer { cdsp_eq3_destroy(e) }
        for hz in [40.0, 250, 1000, 2500, 8000, 15000] {
            cdsp_eq3_reset(e)
            #expect(abs(level(e, hz: hz)) < 0.01, "at \(hz) Hz")
        }
    }

    @Test func eq_low_kill_removes_60hz_by_60db_and_keeps_1khz_within_half_db() throws {
        let e = try eq()
        defer { cdsp_eq3_destroy(e) }
        cdsp_eq3_set_kill(e, CDSP_EQ3_LOW, 1, 0)
        let low = level(e, hz: 60)
        cdsp_eq3_reset(e)
        let mid = level(e, hz: 1000)
        #expect(low <= -60, "60 Hz after low kill: \(low) dB")
        #expect(abs(mid) <= 0.5, "1 kHz after low kill: \(mid) dB")
    }

    @Test func eq_high_and_mid_kills_isolate_their_bands() throws {
        let e = try eq()
        defer { cdsp_eq3_destroy(e) }
        cdsp_eq3_set_kill(e, CDSP_EQ3_HIGH, 1, 0)
        #expect(level(e, hz: 12000) <= -60)
        cdsp_eq3_reset(e)
        #expect(abs(level(e, hz: 100)) <= 0.5)
        cdsp_eq3_set_kill(e, CDSP_EQ3_HIGH, 0, 0)
        cdsp_eq3_set_kill(e, CDSP_EQ3_MID, 1, 0)
        cdsp_eq3_reset(e)
        #expect(level(e, hz: 800) <= -40) // mid band sits between two 48 dB/oct skirts
    }

    @Test func eq_gain_plus_six_db_on_lows() throws {
        let e = try eq()
        defer { cdsp_eq3_destroy(e) }
        cdsp_eq3_set_gain(e, CDSP_EQ3_LOW, 1.9952623, 0)
        #expect(abs(level(e, hz: 50) - 6) < 0.1)
    }

    @Test func eq_rejects_bad_crossovers() {
        var c = cdsp_eq3_config_default(rate)
        c.low_mid_hz = 3000
        c.mid_high_hz = 2000
        var st = CDSP_OK
        #expect(cdsp_eq3_create(&c, &st) == nil)
        #expect(st == CDSP_ERR_INVALID_ARGUMENT)
    }

    @Test func constant_power_crossfader_centre_is_minus_3db_each_side() {
        var a: Float = 0, b: Float = 0
        cdsp_xfader_gains(CDSP_XFADER_CONSTANT_POWER, 0, &a, &b)
        #expect(abs(Signals.db(Double(a)) + 3.0103) < 0.2)
        #expect(abs(Signals.db(Double(b)) + 3.0103) < 0.2)
        cdsp_xfader_gains(CDSP_XFADER_CONSTANT_POWER, -1, &a, &b)
        #expect(a == 1 && b == 0)
        cdsp_xfader_gains(CDSP_XFADER_LINEAR, 0, &a, &b)
        #expect(a == 0.5 && b == 0.5)
        cdsp_xfader_gains(CDSP_XFADER_SHARP, 0.9, &a, &b)
        #expect(a == 1 && b == 1)
        cdsp_xfader_gains(CDSP_XFADER_SHARP, 1, &a, &b)
        #expect(a == 0 && b == 1)
    }

    @Test func limiter_never_exceeds_ceiling_for_plus_12db_input() throws {
        var c = cdsp_limiter_config_default(rate)
        var st = CDSP_OK
        let l = try #require(cdsp_limiter_create(&c, &st))
        defer { cdsp_limiter_destroy(l) }
        // +12 dBFS: a sine at amplitude 4 plus bursts and a full-scale click train.
        var x = Signals.sine(997, seconds: 2, amplitude: 4)
        for i in stride(from: 1000, to: 96000, by: 4801) { x[2 * i] = 8; x[2 * i + 1] = -8 }
        x.withUnsafeMutableBufferPointer { p in
            // Odd block sizes: the limiter is per-sample.
            var off = 0
            while off < 96000 {
                let n = min(333, 96000 - off)
                cdsp_limiter_process(l, p.baseAddress! + 2 * off, UInt32(n))
                off += n
            }
        }
        let ceiling = Float(pow(10.0, -1.0 / 20.0))
        #expect(Signals.peak(x) <= ceiling)
        // And it is limiting, not muting: the steady part sits close to the ceiling.
        #expect(Signals.rms(x, from: 48000) > 0.5)
    }

    @Test func limiter_is_transparent_below_ceiling() throws {
        var c = cdsp_limiter_config_default(rate)
        var st = CDSP_OK
        let l = try #require(cdsp_limiter_create(&c, &st))
        defer { cdsp_limiter_destroy(l) }
        let input = Signals.sine(440, seconds: 1, amplitude: 0.5)
        var x = input
        x.withUnsafeMutableBufferPointer { cdsp_limiter_process(l, $0.baseAddress, 48000) }
        let d = Int(cdsp_limiter_latency(l))
        var maxErr: Float = 0
        for i in 0..<(48000 - d) { maxErr = max(maxErr, abs(x[2 * (i + d)] - input[2 * i])) }
        #expect(maxErr == 0)
    }

    @Test func filter_centre_is_bypass_and_full_left_cuts_highs() throws {
        var c = cdsp_filter_config_default(rate)
        var st = CDSP_OK
        let f = try #require(cdsp_filter_create(&c, &st))
        defer { cdsp_filter_destroy(f) }
        let input = Signals.sine(5000, seconds: 1)
        var x = input
        x.withUnsafeMutableBufferPointer { cdsp_filter_process(f, $0.baseAddress, 48000) }
        #expect(x == input)
        cdsp_filter_set(f, -0.6, 0) // low-pass around 300 Hz
        x = input
        x.withUnsafeMutableBufferPointer { cdsp_filter_process(f, $0.baseAddress, 48000) }
        #expect(Signals.db(Signals.rms(x, from: 24000) / Signals.rms(input)) < -60)
        cdsp_filter_set(f, 0.6, 0) // high-pass around 1.1 kHz keeps 5 kHz
        x = input
        x.withUnsafeMutableBufferPointer { cdsp_filter_process(f, $0.baseAddress, 48000) }
        #expect(abs(Signals.db(Signals.rms(x, from: 24000) / Signals.rms(input))) < 1.5)
    }
}
