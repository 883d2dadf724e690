import Foundation

/// Test signals and measurements shared by the C-level tests.
enum Signals {
    /// Interleaved stereo sine, both channels equal.
    static func sine(_ hz: Double, seconds: Double, rate: Double = 48000, amplitude: Float = 0.5) -> [Float] {
        let n = Int(seconds * rate)
        var out = [Float](repeating: 0, count: n * 2)
        for i in 0..<n {
            let v = amplitude * Float(sin(2 * Double.pi * hz * Double(i) / rate))
            out[2 * i] = v
            out[2 * i + 1] = v
        }
        return out
    }

    /// RMS of the left channel over frames [from, to).
    static func rms(_ x: [Float], from: Int = 0, to: Int? = nil) -> Double {
        let end = to ?? x.count / 2
        var s = 0.0
        for i in from..<end { s += Double(x[2 * i]) * Double(x[2 * i]) }
        return (s / Double(max(1, end - from))).squareRoot()
    }

    static func db(_ ratio: Double) -> Double { 20 * log10(max(ratio, 1e-30)) }

    /// Largest |sample| over both channels.
    static func peak(_ x: [Float]) -> Float { x.reduce(0) { max($0, abs($1)) } }
}
