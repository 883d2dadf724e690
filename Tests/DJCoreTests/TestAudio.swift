import DJCore
import Foundation

/// Signals, files and measurements for the DJCore tests.
enum TestAudio {
    static func sine(_ hz: Double, seconds: Double, rate: Int = 48000, amplitude: Float = 0.5) -> [Float] {
        let n = Int(seconds * Double(rate))
        var out = [Float](repeating: 0, count: n * 2)
        for i in 0..<n {
            let v = amplitude * Float(sin(2 * Double.pi * hz * Double(i) / Double(rate)))
            out[2 * i] = v
            out[2 * i + 1] = v
        }
        return out
    }

    static func constant(_ v: Float, seconds: Double, rate: Int = 48000) -> [Float] {
        [Float](repeating: v, count: Int(seconds * Double(rate)) * 2)
    }

    /// Deterministic noise (LCG), amplitude `a`.
    static func noise(seconds: Double, rate: Int = 48000, amplitude: Float = 0.3, seed: UInt32 = 1) -> [Float] {
        var s = seed
        return (0..<(Int(seconds * Double(rate)) * 2)).map { _ in
            s = s &* 1664525 &+ 1013904223
            return Float(Int32(bitPattern: s)) / Float(Int32.max) * amplitude
        }
    }

    /// Frequency of the left channel over [from, to) frames, from interpolated rising zero crossings.
    static func frequency(_ x: [Float], rate: Int = 48000, from: Int, to: Int) -> Double {
        var first: Double?
        var last = 0.0
        var count = 0
        for i in from..<(to - 1) {
            let a = x[2 * i], b = x[2 * (i + 1)]
            if a < 0 && b >= 0 {
                let t = Double(i) + Double(-a / (b - a))
                if first == nil { first = t } else { count += 1; last = t }
            }
        }
        guard let f = first, count > 0 else { return 0 }
        return Double(count) / ((last - f) / Double(rate))
    }

    static func rms(_ x: [Float], from: Int = 0, to: Int? = nil) -> Double {
        let end = to ?? x.count / 2
        var s = 0.0
        for i in from..<end { s += Double(x[2 * i]) * Double(x[2 * i]) }
        return (s / Double(max(1, end - from))).squareRoot()
    }

    static func db(_ r: Double) -> Double { 20 * log10(max(r, 1e-30)) }

    /// A fresh temporary directory, removed by the caller's `defer`.
    static func tempDir() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("djcore-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    /// Writes interleaved audio with `channels` channels to a file.
    static func write(_ samples: [Float], to path: String, rate: Int = 48000, channels: Int = 2,
                      format: AudioFileFormat = .wavFloat) throws {
        let w = try AudioFileWriter(path: path, sampleRate: rate, channels: channels, format: format)
        try w.write(samples)
        try w.close()
    }

    /// Saves a failing render for a look (STYLE: a failing comparison writes the actual output).
    @discardableResult
    static func keepForInspection(_ samples: [Float], name: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("djcore-failed-\(name).wav").path
        try? write(samples, to: path)
        return path
    }
}

/// Renders an engine set up by `setup` for `seconds`, with `timeline` at frames.
func renderEngine(config: EngineConfiguration = EngineConfiguration(), period: Int = 256, seconds: Double,
                  timeline: [TimedCommand]) throws -> [Float] {
    let engine = try Engine(configuration: config)
    let r = try OfflineRenderer(engine: engine, periodFrames: period)
    return try r.renderToArray(frames: UInt64(seconds * Double(config.sampleRate)), timeline: timeline)
}
