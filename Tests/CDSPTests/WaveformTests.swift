import CDSP
import Foundation
import Testing

/// The three-band waveform overview (LR4 crossovers at 250 Hz and 4 kHz, peak and RMS per column).
@Suite("Waveform overview")
struct WaveformTests {
    struct Column {
        var peak: [Float]  // low, mid, high
        var rms: [Float]
    }

    static func overview(_ x: [Float], frames: Int, channels: UInt32 = 2, rate: UInt32 = 48000,
                         columns: Int) -> (status: cdsp_status, columns: [Column]) {
        var out = [Float](repeating: -1, count: max(columns, 1) * 6)
        let st = x.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer {
                cdsp_waveform_overview(p.baseAddress, Int64(frames), channels, rate, UInt32(columns), $0.baseAddress)
            }
        }
        let cols = (0..<columns).map { c in
            Column(peak: (0..<3).map { out[c * 6 + $0 * 2] }, rms: (0..<3).map { out[c * 6 + $0 * 2 + 1] })
        }
        return (st, cols)
    }

    /// RMS of one band over columns [from, to) (all columns hold the same number of frames, +-1).
    static func bandRMS(_ cols: [Column], band: Int, from: Int, to: Int? = nil) -> Double {
        let end = to ?? cols.count
        let s = cols[from..<end].reduce(0.0) { $0 + Double($1.rms[band]) * Double($1.rms[band]) }
        return (s / Double(end - from)).squareRoot()
    }

    /// Band levels (dB) relative to the loudest band for a steady stereo tone, skipping the onset columns.
    static func bandLevels(hz: Double) -> (status: cdsp_status, db: [Double]) {
        let x = Signals.sine(hz, seconds: 1, amplitude: 0.5)
        let r = overview(x, frames: 48000, columns: 50)
        let rms = (0..<3).map { bandRMS(r.columns, band: $0, from: 5) }
        let top = rms.max()!
        return (r.status, rms.map { Signals.db($0 / top) })
    }

    @Test func tone_at_100hz_is_in_the_low_band() {
        let r = Self.bandLevels(hz: 100)
        #expect(r.status == CDSP_OK)
        #expect(r.db[CDSP_WAVEFORM_LOW] == 0)
        // LR4 at 250 Hz: 100 Hz is 1.3 octaves below, -32 dB in mid; high is far below that.
        #expect(r.db[CDSP_WAVEFORM_MID] < -30, "mid \(r.db[CDSP_WAVEFORM_MID]) dB")
        #expect(r.db[CDSP_WAVEFORM_HIGH] < -30, "high \(r.db[CDSP_WAVEFORM_HIGH]) dB")
    }

    @Test func tone_at_1khz_is_in_the_mid_band() {
        let r = Self.bandLevels(hz: 1000)
        #expect(r.db[CDSP_WAVEFORM_MID] == 0)
        #expect(r.db[CDSP_WAVEFORM_LOW] < -30, "low \(r.db[CDSP_WAVEFORM_LOW]) dB")
        #expect(r.db[CDSP_WAVEFORM_HIGH] < -30, "high \(r.db[CDSP_WAVEFORM_HIGH]) dB")
    }

    @Test func tone_at_10khz_is_in_the_high_band() {
        let r = Self.bandLevels(hz: 10000)
        #expect(r.db[CDSP_WAVEFORM_HIGH] == 0)
        #expect(r.db[CDSP_WAVEFORM_LOW] < -30, "low \(r.db[CDSP_WAVEFORM_LOW]) dB")
        #expect(r.db[CDSP_WAVEFORM_MID] < -30, "mid \(r.db[CDSP_WAVEFORM_MID]) dB")
    }

    @Test func in_band_tone_keeps_its_level_peak_half_and_rms_half_over_root_two() {
        let x = Signals.sine(1000, seconds: 1, amplitude: 0.5)
        let r = Self.overview(x, frames: 48000, columns: 50)
        for c in r.columns[5...] {
            #expect(abs(c.peak[CDSP_WAVEFORM_MID] - 0.5) < 0.01)
            #expect(abs(Double(c.rms[CDSP_WAVEFORM_MID]) - 0.5 / 2.0.squareRoot()) < 0.01)
        }
    }

    @Test func tone_starting_halfway_leaves_the_first_half_of_the_columns_empty() {
        var x = Signals.sine(1000, seconds: 1, amplitude: 0.5)
        for i in 0..<24000 { x[2 * i] = 0; x[2 * i + 1] = 0 }
        let r = Self.overview(x, frames: 48000, columns: 100)
        #expect(r.status == CDSP_OK)
        for c in r.columns[..<50] {
            #expect(c.peak.allSatisfy { $0 == 0 } && c.rms.allSatisfy { $0 == 0 })
        }
        for c in r.columns[51...] { #expect(c.rms[CDSP_WAVEFORM_MID] > 0.3) }
    }

    @Test func peak_is_never_below_rms() {
        // White noise plus a tone, at an odd column count so columns differ in length.
        var seed: UInt64 = 0x9E3779B97F4A7C15
        var x = Signals.sine(150, seconds: 1, amplitude: 0.3)
        for i in 0..<x.count {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            x[i] += Float(Int64(bitPattern: seed) >> 40) / Float(1 << 23) * 0.5
        }
        let r = Self.overview(x, frames: 48000, columns: 997)
        #expect(r.status == CDSP_OK)
        for c in r.columns {
            for b in 0..<3 { #expect(c.peak[b] >= c.rms[b] && c.rms[b] > 0) }
        }
    }

    @Test func one_frame_per_column_gives_rms_equal_to_peak() {
        // An impulse: every column holds one filtered sample, whose RMS is its magnitude.
        var x = [Float](repeating: 0, count: 64 * 2)
        x[0] = 1
        x[1] = 1
        let r = Self.overview(x, frames: 64, columns: 64)
        #expect(r.status == CDSP_OK)
        for c in r.columns { #expect(c.peak == c.rms) }
        #expect(r.columns[0].peak.contains { $0 > 0 })
    }

    @Test func mono_input_equals_identical_stereo_channels_and_opposite_channels_cancel() {
        let stereo = Signals.sine(440, seconds: 0.5, amplitude: 0.5)
        let mono = (0..<24000).map { stereo[2 * $0] }
        let a = Self.overview(stereo, frames: 24000, columns: 40)
        let b = Self.overview(mono, frames: 24000, channels: 1, columns: 40)
        #expect(a.status == CDSP_OK && b.status == CDSP_OK)
        #expect(a.columns.map(\.peak) == b.columns.map(\.peak))
        #expect(a.columns.map(\.rms) == b.columns.map(\.rms))
        var opposite = stereo
        for i in 0..<24000 { opposite[2 * i + 1] = -opposite[2 * i] }
        let c = Self.overview(opposite, frames: 24000, columns: 40)
        #expect(c.columns.allSatisfy { $0.peak.allSatisfy { $0 == 0 } })
    }

    @Test func invalid_arguments_are_rejected() {
        let x = [Float](repeating: 0.1, count: 20)
        var out = [Float](repeating: 0, count: 6 * 11)
        x.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                let px = p.baseAddress, po = o.baseAddress
                #expect(cdsp_waveform_overview(px, 10, 2, 48000, 11, po) == CDSP_ERR_INVALID_ARGUMENT) // > frames
                #expect(cdsp_waveform_overview(px, 10, 2, 48000, 0, po) == CDSP_ERR_INVALID_ARGUMENT)
                #expect(cdsp_waveform_overview(px, 10, 3, 48000, 5, po) == CDSP_ERR_INVALID_ARGUMENT)
                #expect(cdsp_waveform_overview(px, 10, 2, 7999, 5, po) == CDSP_ERR_INVALID_ARGUMENT)
                #expect(cdsp_waveform_overview(px, 10, 2, 384_001, 5, po) == CDSP_ERR_INVALID_ARGUMENT)
                #expect(cdsp_waveform_overview(nil, 10, 2, 48000, 5, po) == CDSP_ERR_INVALID_ARGUMENT)
                #expect(cdsp_waveform_overview(px, 10, 2, 48000, 5, nil) == CDSP_ERR_INVALID_ARGUMENT)
                #expect(cdsp_waveform_overview(px, 10, 2, 48000, 10, po) == CDSP_OK) // columns == frames
                #expect(cdsp_waveform_overview(px, 10, 2, 8000, 3, po) == CDSP_OK)
            }
        }
    }
}
