import CDSP
import Foundation
import Testing

/// EBU R 128 loudness (ITU-R BS.1770-4, EBU Tech 3341 / 3342) and true peak, on synthesised test signals.
/// Levels in dBFS are sine peak amplitudes, as in Tech 3341 ("-23 dBFS" = amplitude 10^(-23/20) in
/// each channel, which reads -23 LUFS in stereo).
@Suite("Loudness: BS.1770-4 / EBU R 128")
struct LoudnessTests {
    /// Stereo 1 kHz sine made of consecutive (seconds, dBFS) segments, phase continuous, both channels equal.
    static func sineSegments(_ segments: [(seconds: Double, dbfs: Double)], rate: Double,
                             hz: Double = 1000) -> (samples: [Float], frames: Int) {
        let frames = segments.reduce(0) { $0 + Int(($1.seconds * rate).rounded()) }
        var x = [Float](repeating: 0, count: frames * 2)
        var pos = 0
        for seg in segments {
            let n = Int((seg.seconds * rate).rounded())
            let a = pow(10, seg.dbfs / 20)
            for i in pos..<(pos + n) {
                let v = Float(a * sin(2 * Double.pi * hz * Double(i) / rate))
                x[2 * i] = v
                x[2 * i + 1] = v
            }
            pos += n
        }
        return (x, frames)
    }

    static func measure(_ x: [Float], frames: Int, channels: UInt32 = 2, rate: Double)
        -> (status: cdsp_status, result: cdsp_loudness_result) {
        var r = cdsp_loudness_result()
        let st = x.withUnsafeBufferPointer {
            cdsp_loudness_measure($0.baseAddress, Int64(frames), channels, UInt32(rate), &r)
        }
        return (st, r)
    }

    static func measure(_ segments: [(seconds: Double, dbfs: Double)], rate: Double) -> cdsp_loudness_result {
        let s = sineSegments(segments, rate: rate)
        let m = measure(s.samples, frames: s.frames, rate: rate)
        #expect(m.status == CDSP_OK)
        return m.result
    }

    static func noNaN(_ r: cdsp_loudness_result) -> Bool {
        ![r.integrated_lufs, r.range_lu, r.true_peak_dbtp, r.sample_peak_dbfs,
          r.max_momentary_lufs, r.max_short_term_lufs].contains { $0.isNaN }
    }

    // MARK: integrated loudness, EBU Tech 3341 test cases 1-5 at both common rates

    @Test(arguments: [48000.0, 44100.0])
    func ebu_3341_case1_1khz_sine_at_minus_23_dbfs_reads_minus_23_lufs(rate: Double) {
        let r = Self.measure([(20, -23)], rate: rate)
        #expect(abs(r.integrated_lufs + 23) <= 0.1, "\(r.integrated_lufs) LUFS at \(rate) Hz")
        // A steady tone: every momentary and short-term block reads the same.
        #expect(abs(r.max_momentary_lufs + 23) <= 0.1)
        #expect(abs(r.max_short_term_lufs + 23) <= 0.1)
        #expect(abs(r.range_lu) <= 0.1)
    }

    @Test(arguments: [48000.0, 44100.0])
    func ebu_3341_case2_1khz_sine_at_minus_33_dbfs_reads_minus_33_lufs(rate: Double) {
        let r = Self.measure([(20, -33)], rate: rate)
        #expect(abs(r.integrated_lufs + 33) <= 0.1, "\(r.integrated_lufs) LUFS at \(rate) Hz")
    }

    /// Tech 3341 case 3: 10 s at -36, 60 s at -23, 10 s at -36 dBFS -> -23.0 LUFS. Ungated, the power mean
    /// is -23 + 10 log10(0.75 + 0.25 * 10^-1.3) = -24.18 LUFS; the relative gate (-34.18 LUFS) drops the
    /// -36 parts, leaving -23.0 (the few 400 ms blocks straddling a step move it by ~0.01 LU).
    @Test(arguments: [48000.0, 44100.0])
    func ebu_3341_case3_relative_gate_drops_the_minus_36_dbfs_parts(rate: Double) {
        let r = Self.measure([(10, -36), (60, -23), (10, -36)], rate: rate)
        #expect(abs(r.integrated_lufs + 23) <= 0.1, "\(r.integrated_lufs) LUFS at \(rate) Hz")
    }

    /// Tech 3341 case 4: -72, -36, -23, -36, -72 dBFS (10, 10, 60, 10, 10 s) -> -23.0 LUFS: the -72 parts
    /// fall under the absolute gate (-70 LUFS), the -36 parts under the relative one.
    @Test(arguments: [48000.0, 44100.0])
    func ebu_3341_case4_absolute_and_relative_gates_give_minus_23_lufs(rate: Double) {
        let r = Self.measure([(10, -72), (10, -36), (60, -23), (10, -36), (10, -72)], rate: rate)
        #expect(abs(r.integrated_lufs + 23) <= 0.1, "\(r.integrated_lufs) LUFS at \(rate) Hz")
    }

    /// Tech 3341 case 5: -26 dBFS 20 s, -20 dBFS 20.1 s, -26 dBFS 20 s -> -23.0 LUFS. Nothing is gated
    /// here: the power mean (20 + 20.1 * 4 + 20) / 60.1 = 2.003 times -26 is -22.98 LUFS.
    @Test(arguments: [48000.0, 44100.0])
    func ebu_3341_case5_power_average_without_gating_gives_minus_23_lufs(rate: Double) {
        let r = Self.measure([(20, -26), (20.1, -20), (20, -26)], rate: rate)
        #expect(abs(r.integrated_lufs + 23) <= 0.1, "\(r.integrated_lufs) LUFS at \(rate) Hz")
    }

    /// 20 s at -23 then 20 s at -36 dBFS. Ungated mean: -23 + 10 log10((1 + 10^-1.3) / 2) = -25.80 LUFS,
    /// so the relative gate sits at -35.80 and drops the -36 half (without it the answer would be -25.8).
    /// Of the ~200 blocks kept, the 3 straddling the step add 0.75, 0.5 and 0.25 of the -23 power:
    /// 10 log10(198.5 / 200) = -0.03, so the expected value is -23.03 LUFS.
    @Test(arguments: [48000.0, 44100.0])
    func twenty_s_at_minus_23_then_twenty_s_at_minus_36_reads_minus_23_lufs(rate: Double) {
        let r = Self.measure([(20, -23), (20, -36)], rate: rate)
        #expect(abs(r.integrated_lufs + 23.03) <= 0.1, "\(r.integrated_lufs) LUFS at \(rate) Hz")
    }

    @Test func mono_channel_is_not_doubled_minus_23_dbfs_mono_reads_minus_26_lufs() {
        let rate = 48000.0
        let s = Self.sineSegments([(10, -23)], rate: rate)
        let mono = (0..<s.frames).map { s.samples[2 * $0] }
        let m = Self.measure(mono, frames: s.frames, channels: 1, rate: rate)
        #expect(m.status == CDSP_OK)
        #expect(abs(m.result.integrated_lufs + 26.01) <= 0.1, "\(m.result.integrated_lufs)")
    }

    // MARK: loudness range, EBU Tech 3342

    @Test(arguments: [48000.0, 44100.0])
    func ebu_3342_case1_minus_20_then_minus_30_dbfs_has_a_range_of_10_lu(rate: Double) {
        let r = Self.measure([(20, -20), (20, -30)], rate: rate)
        // Tech 3342 allows +-1 LU; with 100 ms short-term steps the steady halves fill both percentiles.
        #expect(abs(r.range_lu - 10) <= 0.1, "LRA \(r.range_lu) at \(rate) Hz")
        #expect(abs(r.max_momentary_lufs + 20) <= 0.1)
        #expect(abs(r.max_short_term_lufs + 20) <= 0.1)
    }

    @Test func ebu_3342_case4_five_steps_minus_50_to_minus_20_dbfs_have_a_range_of_15_lu() {
        // -50, -35, -20, -35, -50 dBFS, 20 s each: the -20 LU relative gate (about -44 LUFS) drops the -50
        // parts, leaving 10th percentile -35 and 95th -20.
        let r = Self.measure([(20, -50), (20, -35), (20, -20), (20, -35), (20, -50)], rate: 48000)
        #expect(abs(r.range_lu - 15) <= 1, "LRA \(r.range_lu)")
    }

    // MARK: true peak and sample peak

    /// A 0 dBFS sine at fs/4 with a 45 degree phase: every sample is +-0.7071 (-3.01 dBFS) while the
    /// waveform peaks at 1.0 exactly half-way between samples, a point on the 4x grid: 0.00 dBTP.
    /// Raised-cosine fades of 10 ms keep the file's edges from adding their own overshoot.
    @Test func quarter_rate_sine_at_45_degrees_has_sample_peak_minus_3_db_and_true_peak_0_dbtp() {
        let rate = 48000.0
        let frames = 48000
        let fade = 480
        var x = [Float](repeating: 0, count: frames * 2)
        for i in 0..<frames {
            let edge = min(i, frames - 1 - i)
            let w = edge < fade ? 0.5 - 0.5 * cos(Double.pi * Double(edge) / Double(fade)) : 1
            let v = Float(w * sin(Double.pi / 2 * Double(i) + Double.pi / 4))
            x[2 * i] = v
            x[2 * i + 1] = v
        }
        let m = Self.measure(x, frames: frames, rate: rate)
        #expect(m.status == CDSP_OK)
        #expect(abs(m.result.sample_peak_dbfs + 3.0103) <= 0.01, "sample peak \(m.result.sample_peak_dbfs)")
        #expect(abs(m.result.true_peak_dbtp) <= 0.05, "true peak \(m.result.true_peak_dbtp)")
    }

    @Test(arguments: [48000.0, 44100.0])
    func full_scale_1khz_sine_reads_0_dbtp(rate: Double) {
        let s = Self.sineSegments([(2, 0)], rate: rate)
        let m = Self.measure(s.samples, frames: s.frames, rate: rate)
        #expect(abs(m.result.true_peak_dbtp) <= 0.05, "true peak \(m.result.true_peak_dbtp) at \(rate) Hz")
        #expect(m.result.true_peak_dbtp >= m.result.sample_peak_dbfs)
        #expect(abs(m.result.sample_peak_dbfs) <= 0.01)
    }

    @Test func true_peak_finds_a_single_loud_spot_in_a_quiet_track() {
        // 10 s of -40 dBFS, then one 10 ms burst of the fs/4 45-degree sine at -6 dBFS peak amplitude
        // (sample peak -9.03): the block-skipping search must still find its inter-sample peak.
        let rate = 48000.0
        var s = Self.sineSegments([(10, -40)], rate: rate)
        let a = pow(10, -6.0 / 20)
        for i in 240_000..<240_480 {
            let w = 0.5 - 0.5 * cos(2 * Double.pi * Double(i - 240_000) / 480)
            s.samples[2 * i] = Float(a * w * sin(Double.pi / 2 * Double(i) + Double.pi / 4))
        }
        let m = Self.measure(s.samples, frames: s.frames, rate: rate)
        #expect(m.result.sample_peak_dbfs < -9)
        #expect(abs(m.result.true_peak_dbtp + 6) <= 0.1, "true peak \(m.result.true_peak_dbtp)")
    }

    // MARK: edge cases

    @Test func digital_silence_reads_minus_infinity_not_nan() {
        let frames = 5 * 48000
        let x = [Float](repeating: 0, count: frames * 2)
        let m = Self.measure(x, frames: frames, rate: 48000)
        #expect(m.status == CDSP_OK)
        #expect(m.result.integrated_lufs == -Double.infinity)
        #expect(m.result.range_lu == 0)
        #expect(m.result.true_peak_dbtp == -Double.infinity)
        #expect(m.result.sample_peak_dbfs == -Double.infinity)
        #expect(m.result.max_momentary_lufs == -Double.infinity)
        #expect(m.result.max_short_term_lufs == -Double.infinity)
        #expect(Self.noNaN(m.result))
    }

    @Test func a_tenth_of_a_second_is_ok_with_peaks_but_no_blocks() {
        let s = Self.sineSegments([(0.1, -6.0206)], rate: 48000) // amplitude 0.5
        let m = Self.measure(s.samples, frames: s.frames, rate: 48000)
        #expect(m.status == CDSP_OK)
        #expect(m.result.integrated_lufs == -Double.infinity)
        #expect(m.result.max_momentary_lufs == -Double.infinity)
        #expect(m.result.max_short_term_lufs == -Double.infinity)
        #expect(m.result.range_lu == 0)
        #expect(abs(m.result.sample_peak_dbfs + 6.02) <= 0.01)
        #expect(Self.noNaN(m.result))
    }

    @Test func zero_frames_is_ok() {
        let x: [Float] = [0, 0]
        let m = Self.measure(x, frames: 0, rate: 44100)
        #expect(m.status == CDSP_OK)
        #expect(m.result.integrated_lufs == -Double.infinity)
        #expect(m.result.true_peak_dbtp == -Double.infinity)
    }

    @Test func nan_and_infinite_samples_never_make_nan_results() {
        var s = Self.sineSegments([(4, -20)], rate: 48000)
        s.samples[1000] = .nan
        s.samples[50_001] = .infinity
        s.samples[90_000] = -.infinity
        let m = Self.measure(s.samples, frames: s.frames, rate: 48000)
        #expect(m.status == CDSP_OK)
        #expect(Self.noNaN(m.result))
        #expect(m.result.integrated_lufs.isFinite && m.result.true_peak_dbtp.isFinite)
    }

    @Test func invalid_arguments_are_rejected() {
        let x = [Float](repeating: 0.1, count: 2000)
        var r = cdsp_loudness_result()
        x.withUnsafeBufferPointer { p in
            #expect(cdsp_loudness_measure(nil, 10, 2, 48000, &r) == CDSP_ERR_INVALID_ARGUMENT)
            #expect(cdsp_loudness_measure(p.baseAddress, 10, 2, 48000, nil) == CDSP_ERR_INVALID_ARGUMENT)
            #expect(cdsp_loudness_measure(p.baseAddress, -1, 2, 48000, &r) == CDSP_ERR_INVALID_ARGUMENT)
            #expect(cdsp_loudness_measure(p.baseAddress, 10, 0, 48000, &r) == CDSP_ERR_INVALID_ARGUMENT)
            #expect(cdsp_loudness_measure(p.baseAddress, 10, 3, 48000, &r) == CDSP_ERR_INVALID_ARGUMENT)
            #expect(cdsp_loudness_measure(p.baseAddress, 10, 2, 7999, &r) == CDSP_ERR_INVALID_ARGUMENT)
            #expect(cdsp_loudness_measure(p.baseAddress, 10, 2, 384_001, &r) == CDSP_ERR_INVALID_ARGUMENT)
            #expect(cdsp_loudness_measure(p.baseAddress, 10, 2, 8000, &r) == CDSP_OK)
        }
    }
}
