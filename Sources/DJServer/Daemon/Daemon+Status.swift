import DJCore
import Foundation

/// `GET /api/dj/status`: decks, mixer, master levels, now playing, the sound device and its xruns.
public struct StatusReport: Codable, Sendable {
    public struct EngineInfo: Codable, Sendable {
        public var sampleRate: Int
        public var frame: UInt64
        public var seconds: Double
        public var periods: UInt64
        public var pendingCommands: Int
        public var latencyFrames: Int
    }
    public struct OutputInfo: Codable, Sendable {
        public var device: String
        public var state: String
        public var sampleRate: Int
        public var format: String
        public var channels: Int
        public var periodFrames: Int
        public var periods: Int
        public var bufferMs: Double
        public var recordingPath: String?
        public var xruns: UInt64
        public var deviceFailures: Int
        public var realtime: Bool?
        public var memoryLocked: Bool
        /// Render time of one period: last / mean / worst, ms; and as a fraction of the period (p50, p99).
        public var renderLastMs: Double
        public var renderMeanMs: Double
        public var renderMaxMs: Double
        public var loadP50: Double
        public var loadP99: Double
    }
    public struct Levels: Codable, Sendable {
        public var peakDb: [Double?]
        public var rmsDb: [Double?]
    }
    public var engine: EngineInfo
    public var output: OutputInfo
    public var decks: [DeckStatus]
    public var mixer: EffectsSnapshot.Master
    public var master: Levels
    public var nowPlaying: NowPlaying?
    public var queue: QueueStatus
    public var uptime: Double
}

/// The track the audience hears: the queue's current entry, or the loudest playing deck.
public struct NowPlaying: Codable, Sendable {
    public var deck: Int
    public var title: String
    public var path: String
    public var position: Double
    public var duration: Double
    public var playlistID: Int?
    public var entryID: Int?
}

extension Daemon {
    public func statusReport() -> StatusReport {
        let s = engine.state()
        let st = scheduler.stats
        let info = st.output
        let sr = Double(engine.sampleRate)
        let decks = deckStatuses()
        let q = queue.status
        var now: NowPlaying?
        if let cur = q.current, let qd = q.deck, qd >= 1, qd <= decks.count {
            let d = decks[qd - 1]
            now = NowPlaying(deck: qd, title: cur.title, path: cur.path, position: d.position, duration: d.duration,
                             playlistID: queuePlaylistID(), entryID: cur.entryID)
        } else if let d = decks.filter({ $0.playing && $0.track != nil }).max(by: { ($0.rmsDb ?? -200) < ($1.rmsDb ?? -200) }) {
            now = NowPlaying(deck: d.deck, title: d.track!.title, path: d.track!.path, position: d.position,
                             duration: d.duration, playlistID: nil, entryID: nil)
        }
        func db(_ v: Float) -> Double? { v > 0 ? finite(20 * log10(Double(v))) : nil }
        return StatusReport(
            engine: .init(sampleRate: engine.sampleRate, frame: s.frame, seconds: Double(s.frame) / sr, periods: s.periods,
                          pendingCommands: s.pendingCommands, latencyFrames: engine.latencyFrames),
            output: .init(device: info.device, state: st.state.rawValue, sampleRate: info.sampleRate, format: info.format,
                          channels: info.channels, periodFrames: info.periodFrames, periods: info.periods,
                          bufferMs: info.bufferLatency * 1000, recordingPath: info.recordingPath, xruns: st.underruns,
                          deviceFailures: st.deviceFailures, realtime: st.realtime, memoryLocked: st.memoryLocked,
                          renderLastMs: st.renderLast * 1000, renderMeanMs: st.renderMean * 1000,
                          renderMaxMs: st.renderMax * 1000, loadP50: st.loadPercentile(0.5), loadP99: st.loadPercentile(0.99)),
            decks: decks,
            mixer: EffectsSnapshot(s).master,
            master: .init(peakDb: s.master.peak.map(db), rmsDb: s.master.rms.map(db)),
            nowPlaying: now,
            queue: q,
            uptime: Date().timeIntervalSince(startedAt))
    }

    /// The live frame the WebSocket streams: positions, beat phase, levels, and the engine clock.
    public struct LiveState: Codable, Sendable {
        public var frame: UInt64
        public var seconds: Double
        public var decks: [LiveDeck]
        public var masterPeakDb: Double?
        public var xruns: UInt64
    }
    public struct LiveDeck: Codable, Sendable {
        public var deck: Int
        public var position: Double
        public var duration: Double
        public var playing: Bool
        public var rate: Double
        public var bpm: Double?
        public var beat: Int?
        public var beatPhase: Double?
        public var peakDb: Double?
    }

    public func liveState() -> LiveState {
        let s = engine.state()
        let decks = deckStatuses()
        return LiveState(
            frame: s.frame, seconds: Double(s.frame) / Double(engine.sampleRate),
            decks: decks.map { LiveDeck(deck: $0.deck, position: $0.position, duration: $0.duration, playing: $0.playing, rate: $0.rate, bpm: $0.bpm,
                                        beat: $0.beat, beatPhase: $0.beatPhase, peakDb: $0.peakDb) },
            masterPeakDb: finite(s.master.peakDb), xruns: scheduler.stats.underruns)
    }

    /// Engine figures for the Team Manager's monitor.
    static func engineMetricsJSON(engine: Engine, scheduler: AudioScheduler) -> JSONValue {
        let st = scheduler.stats
        return .object([
            "periodRenderMsLast": .number(st.renderLast * 1000),
            "periodRenderMsMean": .number(st.renderMean * 1000),
            "periodRenderMsMax": .number(st.renderMax * 1000),
            "periodMs": .number(st.periodSeconds * 1000),
            "loadP99": .number(st.loadPercentile(0.99)),
            "xruns": .number(Double(st.underruns)),
            "deviceFailures": .number(Double(st.deviceFailures)),
            "commandQueueDepth": .number(Double(engine.queueDepth)),
            "outputState": .string(st.state.rawValue),
        ])
    }
}
