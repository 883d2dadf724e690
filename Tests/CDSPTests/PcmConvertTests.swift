import CDSP
import Foundation
import Testing

/// The conversion the ALSA writer applies: float engine output -> the device's format and channel layout.
@Suite("PCM conversion")
struct PcmConvertTests {
    let master: [Float] = [0, 0.5, -0.5, 1.0, -1.0, 1.5, 0.25, -2.0]   // 4 stereo frames, two beyond full scale
    let cue: [Float] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]

    func convert<T>(_ format: cdsp_pcm_format, channels: UInt32, cueChannels: Bool, as: T.Type, bytes: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0xEE, count: 4 * Int(channels) * bytes)
        var dither: UInt32 = 0
        master.withUnsafeBufferPointer { m in
            cue.withUnsafeBufferPointer { c in
                cdsp_pcm_convert(format, channels, cueChannels ? 1 : 0, m.baseAddress, c.baseAddress, 4, &out, &dither)
            }
        }
        return out
    }

    func ints32(_ b: [UInt8]) -> [Int32] {
        stride(from: 0, to: b.count, by: 4).map { Int32(bitPattern: UInt32(b[$0]) | UInt32(b[$0 + 1]) << 8 | UInt32(b[$0 + 2]) << 16 | UInt32(b[$0 + 3]) << 24) }
    }

    @Test func float_is_copied_and_four_channels_carry_the_cue_on_3_and_4() {
        let b = convert(CDSP_PCM_FORMAT_FLOAT, channels: 4, cueChannels: true, as: Float.self, bytes: 4)
        let f = b.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        for i in 0..<4 {
            #expect(f[4 * i] == master[2 * i] && f[4 * i + 1] == master[2 * i + 1])
            #expect(f[4 * i + 2] == cue[2 * i] && f[4 * i + 3] == cue[2 * i + 1])
        }
    }

    @Test func channels_beyond_the_buses_are_silent() {
        let b = convert(CDSP_PCM_FORMAT_FLOAT, channels: 6, cueChannels: true, as: Float.self, bytes: 4)
        let f = b.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        for i in 0..<4 { #expect(f[6 * i + 4] == 0 && f[6 * i + 5] == 0 && f[6 * i + 2] == cue[2 * i]) }
        let noCue = convert(CDSP_PCM_FORMAT_FLOAT, channels: 4, cueChannels: false, as: Float.self, bytes: 4)
        let g = noCue.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        for i in 0..<4 { #expect(g[4 * i + 2] == 0 && g[4 * i + 3] == 0) }
    }

    @Test func s32_and_s24_scale_exactly_and_clip_at_full_scale() {
        let s32 = ints32(convert(CDSP_PCM_FORMAT_S32, channels: 2, cueChannels: false, as: Int32.self, bytes: 4))
        #expect(s32 == [0, 1 << 30, -(1 << 30), Int32.max, Int32.min, Int32.max, 1 << 29, Int32.min])
        let s24 = ints32(convert(CDSP_PCM_FORMAT_S24, channels: 2, cueChannels: false, as: Int32.self, bytes: 4))
        #expect(s24 == [0, 1 << 22, -(1 << 22), 8_388_607, -8_388_608, 8_388_607, 1 << 21, -8_388_608])
    }

    @Test func s24_packed_is_three_little_endian_bytes() {
        let b = convert(CDSP_PCM_FORMAT_S24_3, channels: 2, cueChannels: false, as: UInt8.self, bytes: 3)
        #expect(b.count == 24)
        #expect(Array(b[3..<6]) == [0x00, 0x00, 0x40])   //  0.5 -> 0x400000
        #expect(Array(b[6..<9]) == [0x00, 0x00, 0xC0])   // -0.5 -> 0xC00000
        #expect(Array(b[9..<12]) == [0xFF, 0xFF, 0x7F])  //  1.0 clips to 0x7FFFFF
    }

    @Test func s16_is_dithered_within_one_step_and_reproducible() {
        // a slow ramp through many values: every output within +-1 LSB of the exact value, mean error ~0
        let n = 48000
        let x = (0..<(2 * n)).map { Float(sin(Double($0) * 0.0007)) * 0.8 }
        var out = [Int16](repeating: 0, count: 2 * n)
        var out2 = out
        var d1: UInt32 = 7, d2: UInt32 = 7
        x.withUnsafeBufferPointer { cdsp_pcm_convert(CDSP_PCM_FORMAT_S16, 2, 0, $0.baseAddress, nil, UInt32(n), &out, &d1) }
        x.withUnsafeBufferPointer { cdsp_pcm_convert(CDSP_PCM_FORMAT_S16, 2, 0, $0.baseAddress, nil, UInt32(n), &out2, &d2) }
        #expect(out == out2)
        var maxErr = 0.0, sumErr = 0.0, changed = 0
        for i in 0..<(2 * n) {
            let exact = Double(x[i]) * 32768
            let e = Double(out[i]) - exact
            maxErr = max(maxErr, abs(e))
            sumErr += e
            if Double(out[i]) != exact.rounded() { changed += 1 }
        }
        #expect(maxErr < 1.5)
        #expect(abs(sumErr / Double(2 * n)) < 0.02)
        #expect(changed > n / 10)  // the dither is really there
    }
}
