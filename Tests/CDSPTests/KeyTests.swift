import CDSP
import Foundation
import Testing

/// Key detection (cdsp_key_detect) on chord progressions synthesised here: additive tones with four
/// harmonics (amplitudes 1, 1/2, 1/3, 1/4), each chord one second, the chord root doubled an octave
/// below as a bass, the whole progression played twice.
@Suite("Key detection")
struct KeyTests {
    // Chords as MIDI notes, root first. Key numbers: 0-11 C..B major, 12-23 C..B minor.
    static let am = [57, 60, 64], f = [53, 57, 60], c = [48, 52, 55], g = [55, 59, 62]
    static let dm = [50, 53, 57], e = [52, 56, 59]
    static let eb = [51, 55, 58], ab = [56, 60, 63], bb = [58, 62, 65], cm = [48, 51, 55], fm = [53, 56, 60]
    static let fsm = [54, 57, 61], bm = [59, 62, 66], cs = [61, 65, 68], d = [62, 66, 69], cs7 = [61, 65, 68, 71]

    /// Am-F-C-G / Am-Dm-E-Am (the second half with the harmonic-minor dominant).
    static let aMinor = [am, f, c, g, am, dm, e, am]
    /// Eb-Ab-Bb-Eb / Eb-Cm-Fm-Bb-Eb (I-IV-V-I, vi-ii-V-I).
    static let eFlatMajor = [eb, ab, bb, eb, cm, fm, bb, eb]
    /// F#m-Bm-C#-F#m / D-Bm-C#7-F#m.
    static let fSharpMinor = [fsm, bm, cs, fsm, d, bm, cs7, fsm]

    static func progression(_ chords: [[Int]], seconds: Double = 1, repeats: Int = 2, rate: Double = 44100,
                            a4: Double = 440) -> [Float] {
        let n = Int(seconds * rate)
        let ramp = Int(0.01 * rate)
        var out = [Float]()
        out.reserveCapacity(n * chords.count * repeats)
        for _ in 0..<repeats {
            for chord in chords {
                let freqs = (chord + [chord[0] - 12]).map { a4 * pow(2, Double($0 - 69) / 12) }
                for i in 0..<n {
                    let t = Double(i) / rate
                    var v = 0.0
                    for fr in freqs {
                        for h in 1...4 { v += sin(2 * Double.pi * fr * Double(h) * t) / Double(h) }
                    }
                    let env = Double(min(i, n - 1 - i, ramp)) / Double(ramp)
                    out.append(Float(0.08 * v * min(1, env)))
                }
            }
        }
        return out
    }

    /// Deterministic white noise (xorshift), uniform in [-amplitude, amplitude].
    static func noise(seconds: Double, rate: Double = 44100, amplitude: Float = 0.5) -> [Float] {
        var s: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<Int(seconds * rate)).map { _ in
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            return amplitude * (Float(s >> 40) / Float(1 << 24) * 2 - 1)
        }
    }

    static func detect(_ x: [Float], rate: Double = 44100) -> (status: cdsp_status, result: cdsp_key_result) {
        var r = cdsp_key_result()
        let st = x.withUnsafeBufferPointer { cdsp_key_detect($0.baseAddress, Int64($0.count), UInt32(rate), &r) }
        return (st, r)
    }

    static func scores(_ r: cdsp_key_result) -> [Double] {
        withUnsafeBytes(of: r.scores) { Array($0.bindMemory(to: Double.self)) }
    }

    static func chroma(_ r: cdsp_key_result) -> [Double] {
        withUnsafeBytes(of: r.chroma) { Array($0.bindMemory(to: Double.self)) }
    }

    @Test func a_minor_progression_is_key_21_with_high_confidence() {
        let (st, r) = Self.detect(Self.progression(Self.aMinor))
        #expect(st == CDSP_OK)
        #expect(r.key == 21, "key \(r.key), scores \(Self.scores(r))")
        #expect(r.confidence > 0.5, "confidence \(r.confidence)")
        #expect(abs(r.tuning_cents) < 5, "tuning \(r.tuning_cents) cents")
        // The chroma peaks at 1 on a note of the tonic triad; scores are correlations.
        let ch = Self.chroma(r)
        #expect(ch.max() == 1)
        #expect([9, 0, 4].contains(ch.firstIndex(of: 1)!), "chroma \(ch)")
        #expect(Self.scores(r).allSatisfy { $0 >= -1 && $0 <= 1 })
        #expect(Self.scores(r).max() == Self.scores(r)[21])
    }

    @Test func e_flat_major_progression_is_key_3() {
        let (st, r) = Self.detect(Self.progression(Self.eFlatMajor))
        #expect(st == CDSP_OK)
        #expect(r.key == 3, "key \(r.key), scores \(Self.scores(r))")
        #expect(r.confidence > 0.5, "confidence \(r.confidence)")
    }

    @Test func f_sharp_minor_progression_is_key_18() {
        let (st, r) = Self.detect(Self.progression(Self.fSharpMinor))
        #expect(st == CDSP_OK)
        #expect(r.key == 18, "key \(r.key), scores \(Self.scores(r))")
        #expect(r.confidence > 0.5, "confidence \(r.confidence)")
    }

    @Test func a_minor_at_48khz_is_key_21() {
        let (st, r) = Self.detect(Self.progression(Self.aMinor, rate: 48000), rate: 48000)
        #expect(st == CDSP_OK)
        #expect(r.key == 21, "key \(r.key)")
    }

    @Test func tuned_to_446hz_still_a_minor_and_tuning_reads_plus_23_cents() {
        // 1200 * log2(446 / 440) = +23.4 cents
        let (st, r) = Self.detect(Self.progression(Self.aMinor, a4: 446))
        #expect(st == CDSP_OK)
        #expect(r.key == 21, "key \(r.key)")
        #expect(abs(r.tuning_cents - 23.4) <= 10, "tuning \(r.tuning_cents) cents")
    }

    @Test func tuned_to_432hz_still_e_flat_major_and_tuning_reads_minus_32_cents() {
        // 1200 * log2(432 / 440) = -31.8 cents: the nearest semitone grid is still the right one
        let (st, r) = Self.detect(Self.progression(Self.eFlatMajor, a4: 432))
        #expect(st == CDSP_OK)
        #expect(r.key == 3, "key \(r.key)")
        #expect(abs(r.tuning_cents + 31.8) <= 10, "tuning \(r.tuning_cents) cents")
    }

    @Test func white_noise_has_confidence_below_0_2() {
        let (st, r) = Self.detect(Self.noise(seconds: 10))
        #expect(st == CDSP_OK)
        #expect(r.confidence < 0.2, "confidence \(r.confidence), key \(r.key)")
        #expect(r.confidence >= 0)
    }

    @Test func drums_only_have_confidence_below_0_2() {
        // 120 BPM: a pitch-swept sine kick on every beat, noise hats on the off-beats, noise snares on 2 and 4.
        let rate = 44100.0
        var x = [Float](repeating: 0, count: Int(8 * rate))
        let hiss = Self.noise(seconds: 0.2, amplitude: 1)
        for beat in 0..<16 {
            let b = Int(Double(beat) * 0.5 * rate)
            for i in 0..<Int(0.3 * rate) where b + i < x.count {
                let t = Double(i) / rate
                let phase = 2 * Double.pi * (50 * t + 100 * 0.03 * (1 - exp(-t / 0.03)))
                x[b + i] += Float(0.8 * sin(phase) * exp(-t / 0.12))
            }
            let off = b + Int(0.25 * rate)
            for i in 0..<Int(0.05 * rate) where off + i < x.count {
                x[off + i] += 0.3 * hiss[i] * Float(exp(-Double(i) / rate / 0.01))
            }
            if beat % 2 == 1 {
                for i in 0..<hiss.count where b + i < x.count {
                    x[b + i] += 0.4 * hiss[i] * Float(exp(-Double(i) / rate / 0.05))
                }
            }
        }
        let (st, r) = Self.detect(x)
        #expect(st == CDSP_OK)
        #expect(r.confidence < 0.2, "confidence \(r.confidence), key \(r.key)")
    }

    @Test func silence_is_no_key_with_zero_confidence() {
        let (st, r) = Self.detect([Float](repeating: 0, count: 44100 * 5))
        #expect(st == CDSP_OK)
        #expect(r.key == -1)
        #expect(r.confidence == 0)
        #expect(Self.chroma(r).allSatisfy { $0 == 0 })
    }

    @Test func empty_input_is_no_key() {
        var r = cdsp_key_result()
        var one: Float = 0
        #expect(cdsp_key_detect(&one, 0, 44100, &r) == CDSP_OK)
        #expect(r.key == -1 && r.confidence == 0)
    }

    @Test func half_second_file_is_ok_and_sane() {
        let x = Self.progression([Self.am], seconds: 0.5, repeats: 1)
        let (st, r) = Self.detect(x)
        #expect(st == CDSP_OK)
        #expect(r.key >= -1 && r.key < 24)
        #expect(r.confidence >= 0 && r.confidence <= 1)
        // one short A minor chord: A minor, or at worst a key whose scale holds A, C and E
        #expect([21, 0, 5, 7, 14, 16].contains(r.key), "key \(r.key)")
    }

    @Test func invalid_arguments_are_rejected() {
        let x = Self.noise(seconds: 1)
        var r = cdsp_key_result()
        r.key = 7
        #expect(cdsp_key_detect(nil, 100, 44100, &r) == CDSP_ERR_INVALID_ARGUMENT)
        #expect(r.key == -1)   // the result is cleared even on an error
        x.withUnsafeBufferPointer { p in
            #expect(cdsp_key_detect(p.baseAddress, Int64(p.count), 0, &r) == CDSP_ERR_INVALID_ARGUMENT)
            #expect(cdsp_key_detect(p.baseAddress, Int64(p.count), 1000, &r) == CDSP_ERR_INVALID_ARGUMENT)
            #expect(cdsp_key_detect(p.baseAddress, -1, 44100, &r) == CDSP_ERR_INVALID_ARGUMENT)
            #expect(cdsp_key_detect(p.baseAddress, Int64(p.count), 44100, nil) == CDSP_ERR_INVALID_ARGUMENT)
        }
    }
}
