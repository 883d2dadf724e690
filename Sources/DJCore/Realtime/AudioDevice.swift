import CDSP
import Foundation

/// Sample formats a playback device can be written in (little-endian).
public enum AudioSampleFormat: String, Sendable, Codable, CaseIterable {
    /// The first of FLOAT, S32, S24, S24_3, S16 the device takes.
    case auto
    case s16 = "S16_LE"
    case s24 = "S24_LE"
    case s24packed = "S24_3LE"
    case s32 = "S32_LE"
    case float = "FLOAT_LE"

    var c: cdsp_pcm_format {
        switch self {
        case .auto: CDSP_PCM_FORMAT_AUTO
        case .s16: CDSP_PCM_FORMAT_S16
        case .s24: CDSP_PCM_FORMAT_S24
        case .s24packed: CDSP_PCM_FORMAT_S24_3
        case .s32: CDSP_PCM_FORMAT_S32
        case .float: CDSP_PCM_FORMAT_FLOAT
        }
    }

    init(_ c: cdsp_pcm_format) {
        self = Self.allCases.first { $0.c == c } ?? .auto
    }

    /// Parses "S16", "s16_le", "float", "S24_3LE", ... (case-insensitive, the "_LE" optional).
    public init?(name: String) {
        let n = name.uppercased().replacingOccurrences(of: "_LE", with: "").replacingOccurrences(of: "LE", with: "")
        switch n {
        case "AUTO": self = .auto
        case "S16": self = .s16
        case "S24": self = .s24
        case "S24_3", "S243": self = .s24packed
        case "S32": self = .s32
        case "FLOAT", "F32", "FLOAT32": self = .float
        default: return nil
        }
    }
}

/// A length of time for periods and buffers: in frames, or in milliseconds (converted at the device rate).
public enum BufferLength: Sendable, Equatable, CustomStringConvertible {
    case frames(Int)
    case milliseconds(Double)

    public func frames(at rate: Int) -> Int {
        switch self {
        case let .frames(n): return n
        case let .milliseconds(ms): return max(1, Int((ms * Double(rate) / 1000).rounded()))
        }
    }

    /// Parses "256" (frames) or "5.3ms".
    public init?(parsing text: String) {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t.hasSuffix("ms"), let v = Double(t.dropLast(2)), v > 0, v.isFinite {
            self = .milliseconds(v)
        } else if let n = Int(t), n > 0 {
            self = .frames(n)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case let .frames(n): return "\(n) frames"
        case let .milliseconds(ms): return "\(ms) ms"
        }
    }
}

/// A sound card without hardware: the live path (audio thread, scheduler) runs against a buffer that drains
/// at exactly the real-time rate of CLOCK_MONOTONIC, for machines that have no sound card (servers, CI, VMs).
///
/// `null` discards the audio; `file(path:)` records it to a WAV file (written by a background thread at
/// normal priority, the header kept valid as it goes, so the file plays even if the process is killed).
/// The file's sample format follows `AudioOutputConfiguration.format`: S16 gives 16-bit (TPDF-dithered),
/// S24 / S24_3 24-bit, S32 32-bit, FLOAT and auto 32-bit float. `channels` 4 records the cue bus on 3/4.
/// Opening a file output again (a scheduler started again) starts a new file.
public enum VirtualOutput: Sendable, Equatable, CustomStringConvertible {
    case null
    case file(path: String)

    /// Parses "null" or "file:PATH" (what `--output` takes).
    public init(parsing text: String) throws {
        if text == "null" {
            self = .null
        } else if text.hasPrefix("file:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { throw DJCoreError.invalidArgument("output 'file:' needs a path: file:/path/to/out.wav") }
            self = .file(path: path)
        } else {
            throw DJCoreError.invalidArgument("output '\(text)' is neither 'null' nor 'file:PATH'")
        }
    }

    /// "null" or "file:PATH": also the device name the output reports.
    public var description: String {
        switch self {
        case .null: return "null"
        case let .file(path): return "file:\(path)"
        }
    }
}

/// How to open the sound card and run the audio thread.
public struct AudioOutputConfiguration: Sendable, Equatable {
    /// An ALSA PCM name: "default", "hw:1,0", "plughw:1", a PCM from an asoundrc. Ignored when
    /// `virtualOutput` is set (ALSA's own PCM called "null" stays reachable here).
    public var device: String = "default"
    /// A clock-paced virtual device instead of the sound card (see `VirtualOutput`).
    public var virtualOutput: VirtualOutput? = nil
    public var format: AudioSampleFormat = .auto
    /// nil: 4 channels (master 1/2, cue 3/4) on a hardware device that has them, else 2.
    public var channels: Int? = nil
    public var period: BufferLength = .frames(256)
    /// Periods in the device buffer (the output latency is periods × period).
    public var periods: Int = 3
    /// SCHED_FIFO priority for the audio thread (1 ... 99); 0 keeps normal priority.
    public var realtimePriority: Int = 70
    /// Lock the process's memory (mlockall) so the audio thread never waits on a page fault.
    public var lockMemory: Bool = true
    /// A device that takes no audio for this long counts as failed (nil: max(0.5 s, 8 buffers)).
    public var deviceTimeout: Double? = nil
    /// Waits between attempts to reopen a failed device: doubling from the first to the last.
    public var reopenBackoff: ClosedRange<Double> = 0.1...5

    public init(device: String = "default") {
        self.device = device
    }

    /// A virtual output: "null" or a WAV file.
    public init(virtual output: VirtualOutput) {
        self.virtualOutput = output
    }

    /// What this configuration plays to, for messages: the ALSA device, or "null" / "file:PATH".
    public var outputName: String { virtualOutput?.description ?? device }

    public func validate() throws {
        func check(_ ok: Bool, _ m: @autoclosure () -> String) throws {
            if !ok { throw DJCoreError.invalidArgument(m()) }
        }
        if case let .file(path) = virtualOutput { try check(!path.isEmpty, "no file name given for the output recording") }
        try check(virtualOutput != nil || !device.isEmpty, "no sound device name given")
        if let c = channels { try check((2...Int(CDSP_PCM_MAX_CHANNELS)).contains(c), "\(c) output channels is outside 2 ... \(CDSP_PCM_MAX_CHANNELS)") }
        switch period {
        case let .frames(n): try check((16...65536).contains(n), "period of \(n) frames is outside 16 ... 65536")
        case let .milliseconds(ms): try check(ms >= 0.3 && ms <= 1000, "period of \(ms) ms is outside 0.3 ... 1000 ms")
        }
        try check((2...16).contains(periods), "\(periods) periods per buffer is outside 2 ... 16")
        try check((0...99).contains(realtimePriority), "real-time priority \(realtimePriority) is outside 0 ... 99")
        if let t = deviceTimeout { try check(t >= 0.05 && t <= 60, "device time-out \(t) s is outside 0.05 ... 60 s") }
        try check(reopenBackoff.lowerBound > 0 && reopenBackoff.upperBound <= 600, "reopen back-off \(reopenBackoff) must be within 0 ... 600 s")
    }
}

/// What the device granted.
public struct AudioOutputInfo: Sendable, Equatable, Codable {
    public var device: String
    public var sampleRate: Int
    public var format: String
    public var channels: Int
    /// true: the cue bus plays on channels 3/4.
    public var cueOnChannels3And4: Bool
    public var periodFrames: Int
    public var bufferFrames: Int
    public var periods: Int
    /// ALSA's PCM type ("HW", "PLUG", "IOPLUG", ...), or "VIRTUAL" for a `VirtualOutput`.
    public var deviceType: String
    /// The WAV file a `VirtualOutput.file` output records to; nil otherwise.
    public var recordingPath: String?

    /// true for a clock-paced `VirtualOutput` (no sound card).
    public var isVirtual: Bool { deviceType == "VIRTUAL" }

    /// The device buffer, in seconds: how far ahead of the speakers the engine renders.
    public var bufferLatency: Double { Double(bufferFrames) / Double(sampleRate) }

    init(_ i: cdsp_pcm_info) {
        device = cString(fixed: i.device)
        deviceType = cString(fixed: i.type_name)
        sampleRate = Int(i.rate)
        format = String(cString: cdsp_pcm_format_name(i.format))
        channels = Int(i.channels)
        cueOnChannels3And4 = i.cue_channels != 0
        periodFrames = Int(i.period_frames)
        bufferFrames = Int(i.buffer_frames)
        periods = Int(i.periods)
    }
}

/// A playback device ALSA knows about, and what it can do.
public struct AudioDevice: Sendable, Codable, Equatable {
    public struct Capabilities: Sendable, Codable, Equatable {
        public var channels: ClosedRange<Int>
        public var sampleRates: ClosedRange<Int>
        /// Of 44.1, 48, 88.2, 96, 176.4 and 192 kHz, those the device takes.
        public var standardRates: [Int]
        public var formats: [String]
        public var periodFrames: ClosedRange<Int>
        public var bufferFrames: ClosedRange<Int>
        public var deviceType: String
    }

    public var name: String
    public var description: String
    /// nil when the device could not be opened to ask; `probeError` says why.
    public var capabilities: Capabilities?
    public var probeError: String?

    /// The playback devices ALSA lists (its name hints), each probed unless `probe` is false.
    /// Devices that are busy or whose server is not running are listed with the reason.
    public static func list(probe: Bool = true) -> [AudioDevice] {
        // One enumeration of ALSA's hints in the common case; a second only if there are more than 128.
        var hints = [cdsp_pcm_hint](repeating: cdsp_pcm_hint(), count: 128)
        var n = hints.withUnsafeMutableBufferPointer { cdsp_pcm_hints($0.baseAddress, $0.count) }
        if n > hints.count {
            hints = [cdsp_pcm_hint](repeating: cdsp_pcm_hint(), count: n)
            n = hints.withUnsafeMutableBufferPointer { cdsp_pcm_hints($0.baseAddress, $0.count) }
        }
        let count = min(n, hints.count)
        return hints.prefix(count).map { h in
            let name = cString(fixed: h.name)
            let desc = cString(fixed: h.description)
            var device = AudioDevice(name: name, description: desc, capabilities: nil, probeError: nil)
            if probe {
                do { device.capabilities = try Self.probe(name) } catch { device.probeError = "\(error)" }
            }
            return device
        }
    }

    /// Opens `name` briefly and reports what it can do.
    public static func probe(_ name: String) throws -> Capabilities {
        var caps = cdsp_pcm_caps()
        let (status, message) = withMessageBuffer { cdsp_pcm_probe(name, &caps, $0, $1) }
        guard status == CDSP_OK else {
            throw DJCoreError.audioDevice(device: name, reason: AudioDeviceFailure(status), detail: message)
        }
        var formats: [String] = []
        for f in [CDSP_PCM_FORMAT_S16, CDSP_PCM_FORMAT_S24, CDSP_PCM_FORMAT_S24_3, CDSP_PCM_FORMAT_S32, CDSP_PCM_FORMAT_FLOAT]
        where caps.formats & (1 << f.rawValue) != 0 {
            formats.append(String(cString: cdsp_pcm_format_name(f)))
        }
        var rates: [Int] = []
        var i: UInt32 = 0
        while cdsp_pcm_standard_rate(i) != 0 {
            if caps.standard_rates & (1 << i) != 0 { rates.append(Int(cdsp_pcm_standard_rate(i))) }
            i += 1
        }
        func range(_ a: UInt32, _ b: UInt32) -> ClosedRange<Int> { Int(min(a, b))...Int(max(a, b)) }
        let type = cString(fixed: caps.type_name)
        return Capabilities(
            channels: range(caps.channels_min, caps.channels_max),
            sampleRates: range(caps.rate_min, caps.rate_max), standardRates: rates, formats: formats,
            periodFrames: range(caps.period_min, caps.period_max), bufferFrames: range(caps.buffer_min, caps.buffer_max),
            deviceType: type)
    }
}
