import Dispatch
import Synchronization

/// Plays a list of tracks through an `Engine`, one after another on two decks, with a constant-power
/// crossfade between them: an automatic radio-style player (what `djd play` does, as a reusable type).
///
/// The owner calls `tick()` every ~10 ms: from a control loop when playing live, or between periods of
/// an offline render (`RenderContext`), which makes the player deterministic under test. The player
/// works only through `engine.send(_:at:)`, `engine.state()` and `engine.frame`; it never touches
/// audio-thread state and never polls the engine's events (they belong to the engine's owner).
///
/// How a transition is placed:
/// - Decoding happens on a background queue (`loader`), never in `tick()`. The next item is requested as
///   soon as the current one has started, so it is ready long before it is needed. An item that cannot
///   be loaded is reported (`status.errors`, `.itemSkipped`) and the one after it is tried.
/// - With an analysis, a track starts at `musicStart` (leading silence skipped) and plays at a trim of
///   `loudness.gainDB` clamped to -12 ... +12 dB (loudness-matched); without one it starts at 0 with trim 0.
/// - The crossfade (`crossfadeSeconds`, at most half of either track's music) is placed so that it
///   completes where the outgoing track's music ends (`musicEnd`, else the end of the file); the outgoing
///   deck is paused there. Decks are assigned to crossfader sides A and B and the curve is set to
///   constant power; `play`, the incoming deck's settings and the crossfader ramp are sent stamped with
///   their engine frame about half a second ahead (never less than `commandLeadSeconds`), so they land
///   sample-accurately whatever the period and the control loop's jitter.
/// - Transitions are not beat-matched: tempo and phase alignment (and choosing the next track) are the
///   DJ agent's job, which will drive the same decks through the same commands.
///
/// The player owns its two decks, the crossfader and the crossfader curve while it is not idle; it
/// unloads its decks when it goes idle.
///
/// Thread: any. Every method serialises on one lock; `onEvent` is called on the thread that called
/// `tick()` (or `stop()`), after the lock is released, so it may call back into the player.
public final class QueuePlayer: Sendable {
    public let engine: Engine
    public let decks: (Int, Int)
    /// Longest crossfade, seconds (0 ... 60; 0 cuts).
    public let crossfadeSeconds: Double
    /// Commands are stamped at least this far ahead of the engine's clock.
    public static let commandLeadSeconds = 0.05
    /// A transition's commands are sent this long before it starts (so a late tick still lands in time,
    /// and a transition can still be changed by `skip`/`stop` until then).
    public static let scheduleAheadSeconds = 0.5
    /// How many skip messages `status.errors` keeps.
    public static let maxErrors = 50

    private let loader: @Sendable (QueueItem) throws -> Track
    private let loadQueue = DispatchQueue(label: "djcore.queueplayer.loader", qos: .userInitiated)
    private let finishedLoads = Mutex<[LoadResult]>([])
    private let core = Mutex(Core())
    private let handler = Mutex<(@Sendable (QueueEvent) -> Void)?>(nil)

    /// Called for every `QueueEvent` (set it before `start`).
    public var onEvent: (@Sendable (QueueEvent) -> Void)? {
        get { handler.withLock { $0 } }
        set { handler.withLock { $0 = newValue } }
    }

    /// - Parameters:
    ///   - decks: the two decks to use; the first is put on crossfader side A, the second on B.
    ///   - loader: decodes an item (e.g. `{ try Track.load(path: $0.path, sampleRate: engine.sampleRate) }`);
    ///     called on a background queue. Its track must be at the engine's rate.
    /// - Throws: `invalidArgument` for decks that do not exist or are the same, or a crossfade outside 0 ... 60 s.
    public init(engine: Engine, decks: (Int, Int) = (1, 2), crossfadeSeconds: Double = 8,
                loader: @escaping @Sendable (QueueItem) throws -> Track) throws {
        let n = engine.configuration.decks
        for d in [decks.0, decks.1] where !(1...n).contains(d) {
            throw DJCoreError.invalidArgument("deck \(d) does not exist (decks are 1 ... \(n))")
        }
        guard decks.0 != decks.1 else {
            throw DJCoreError.invalidArgument("the queue needs two different decks, got \(decks.0) twice")
        }
        guard crossfadeSeconds.isFinite, (0...60).contains(crossfadeSeconds) else {
            throw DJCoreError.invalidArgument("crossfadeSeconds \(crossfadeSeconds) is outside 0 ... 60")
        }
        self.engine = engine
        self.decks = decks
        self.crossfadeSeconds = crossfadeSeconds
        self.loader = loader
    }

    // MARK: Control

    /// Plays `items` from `index` on, replacing whatever the player was doing (that fades out quickly).
    /// - Throws: `invalidArgument` for an empty list or an index outside it; engine errors (a full
    ///   command queue) from the immediate fade of what was playing.
    public func start(items: [QueueItem], at index: Int = 0) throws {
        guard !items.isEmpty else { throw DJCoreError.invalidArgument("the queue is empty: nothing to start") }
        guard (0..<items.count).contains(index) else {
            throw DJCoreError.invalidArgument("index \(index) is outside 0 ... \(items.count - 1)")
        }
        let events = try core.withLock { c -> [QueueEvent] in
            var events: [QueueEvent] = []
            let now = engine.frame
            if c.active {
                try fadeOut(&c, seconds: 0.05, now: now)
                events += finishStop(&c, frame: c.stopAt ?? now, now: now, unload: false)
            }
            try engine.send([.curve(.constantPower), .assign(deck: decks.0, .a), .assign(deck: decks.1, .b)])
            c.items = items
            c.active = true
            c.nextIndex = index
            c.errors = []
            requestNext(&c)
            return events
        }
        emit(events)
    }

    /// Fades the playing deck(s) out over `fadeSeconds` (0 ... 60) and pauses them; the player goes idle
    /// (and unloads its decks) on the first `tick()` after the fade. Does nothing when idle or stopping.
    public func stop(fadeSeconds: Double = 0.5) throws {
        guard fadeSeconds.isFinite, (0...60).contains(fadeSeconds) else {
            throw DJCoreError.invalidArgument("fadeSeconds \(fadeSeconds) is outside 0 ... 60")
        }
        let events = try core.withLock { c -> [QueueEvent] in
            guard c.active, c.stopAt == nil else { return [] }
            let now = engine.frame
            try fadeOut(&c, seconds: fadeSeconds, now: now)
            if c.playing == nil && c.outgoing == nil && c.incoming == nil {
                return finishStop(&c, frame: now, now: now, unload: false)
            }
            return []
        }
        emit(events)
    }

    /// Crossfades into the next item now (over `crossfadeSeconds`, shortened to what the playing track
    /// has left), as soon as it is loaded. At the last item it stops (0.5 s fade). Does nothing while a
    /// transition is already about to start (it was scheduled less than `scheduleAheadSeconds` ago).
    public func skip() throws {
        let events = try core.withLock { c -> [QueueEvent] in
            guard c.active, c.stopAt == nil, c.incoming == nil else { return [] }
            if c.playing == nil {
                // Still loading the first item: leave it and load the one after.
                c.discardCandidate()
                if c.nextIndex >= c.items.count { return finishStop(&c, frame: engine.frame, now: engine.frame, unload: false) }
                requestNext(&c)
                return []
            }
            if c.candidate == nil && c.nextIndex >= c.items.count {
                try fadeOut(&c, seconds: 0.5, now: engine.frame)
                return []
            }
            c.skipRequested = true
            return []
        }
        emit(events)
    }

    /// The list changed while playing (entries added, moved or removed). The current entry (matched by
    /// `entryID`) keeps playing and the queue continues with what now follows it. When the current entry
    /// was removed, it plays on and the queue continues with the first of its old followers still in
    /// the list. A transition already scheduled (less than `scheduleAheadSeconds` ahead) goes ahead.
    public func update(items: [QueueItem]) {
        core.withLock { c in
            let old = c.items
            c.items = items
            guard c.active else { return }
            func newIndex(_ entryID: Int) -> Int? { items.firstIndex { $0.entryID == entryID } }
            /// The index in the new list of the first item at or after `oldIndex` in the old list that is still there.
            func firstSurvivor(from oldIndex: Int) -> Int {
                var i = max(0, oldIndex)
                while i < old.count {
                    if let n = newIndex(old[i].entryID) { return n }
                    i += 1
                }
                return items.count
            }
            for key in [\Core.playing, \Core.outgoing, \Core.incoming] {
                guard var s = c[keyPath: key] else { continue }
                s.index = newIndex(s.item.entryID)
                s.followFrom = s.index.map { $0 + 1 } ?? firstSurvivor(from: s.followFrom)
                c[keyPath: key] = s
            }
            let want: Int
            if let anchor = c.incoming ?? c.playing {
                want = anchor.followFrom
            } else if let cand = c.candidate {
                want = newIndex(cand.item.entryID) ?? firstSurvivor(from: cand.index)
            } else {
                want = firstSurvivor(from: c.nextIndex)
            }
            if let cand = c.candidate, want < items.count, items[want].entryID == cand.item.entryID,
               items[want].path == cand.item.path {
                c.setCandidateIndex(want)
                c.nextIndex = want + 1
            } else {
                c.discardCandidate()
                c.nextIndex = want
                if c.incoming == nil && c.stopAt == nil { requestNext(&c) }
            }
        }
    }

    /// Advances the player: takes finished loads, schedules the next transition when it is due, notices
    /// tracks that started and ended, and finishes a stop. Cheap and non-blocking; call it every ~10 ms.
    /// - Throws: only when the engine refuses a command (its queue is full: the audio thread is not running).
    public func tick() throws {
        let events = try core.withLock { c -> [QueueEvent] in try advance(&c) }
        emit(events)
    }

    /// Blocks until every load requested so far has finished (the next `tick()` takes the results).
    /// For tests and offline renders, which want loading to take no engine time; a live owner never
    /// needs it.
    public func waitForLoads() {
        loadQueue.sync {}
    }

    /// A snapshot of what the player is doing.
    public var status: QueueStatus {
        let s = engine.state()
        return core.withLock { c in
            guard c.active else {
                return QueueStatus(state: .idle, index: nil, current: nil, next: nil, deck: nil, position: nil,
                                   duration: nil, startedAtFrame: nil, errors: c.errors)
            }
            let now = s.frame
            var state: QueueStatus.State = .loading
            if c.stopAt != nil {
                state = .stopping
            } else if let p = c.playing, now < p.silentFrame {
                state = .playing
            } else if let o = c.outgoing, now < o.silentFrame {
                state = .playing
            }
            let next: QueueItem? = c.nextItemForStatus
            guard let p = c.playing ?? c.incoming else {
                return QueueStatus(state: state, index: c.candidate?.index, current: c.candidate?.item, next: next,
                                   deck: nil, position: nil, duration: nil, startedAtFrame: nil, errors: c.errors)
            }
            let rate = Double(engine.sampleRate)
            var position = Double(p.inFrame + Int64(now > p.startFrame ? now - p.startFrame : 0)) / rate
            if let d = s.decks.first(where: { $0.number == p.deck }), d.trackID == p.track.id {
                position = d.position / rate
            }
            return QueueStatus(state: state, index: p.index, current: p.item, next: next, deck: p.deck,
                               position: min(position, p.track.duration), duration: p.track.duration,
                               startedAtFrame: p.startFrame, errors: c.errors)
        }
    }

    // MARK: Internals

    /// A track placed on a deck.
    struct Slot {
        var index: Int?
        /// Index in the items of the one that follows it (kept when an update removes its own entry).
        var followFrom: Int
        var item: QueueItem
        var track: Track
        var deck: Int
        /// Engine frame at which it starts.
        var startFrame: UInt64
        /// Track frames where it starts and where its music ends.
        var inFrame: Int64
        var outFrame: Int64
        /// Engine frame at which it is paused (the end of its fade-out), once scheduled.
        var pauseFrame: UInt64?

        var musicEndFrame: UInt64 { startFrame + UInt64(outFrame - inFrame) }
        var fileEndFrame: UInt64 { startFrame + UInt64(track.frameCount - inFrame) }
        /// From here on it makes no sound.
        var silentFrame: UInt64 { min(pauseFrame ?? .max, fileEndFrame) }
    }

    /// An item being loaded, or loaded and waiting for its turn.
    struct Candidate {
        var token: UInt64
        var index: Int
        var item: QueueItem
        var track: Track?
    }

    struct LoadResult {
        var token: UInt64
        var result: Result<Track, DJCoreError>
    }

    struct Core {
        var items: [QueueItem] = []
        var active = false
        /// Set by `stop`: the engine frame at which the fade-out completes.
        var stopAt: UInt64?
        /// The most recently started track, the one before it while it fades out, and the one scheduled.
        var playing: Slot?
        var outgoing: Slot?
        var incoming: Slot?
        var candidate: Candidate?
        /// The next index not yet requested.
        var nextIndex = 0
        var skipRequested = false
        var errors: [String] = []
        var token: UInt64 = 0
        /// Engine frame from which a deck may take a new track.
        var deckFreeAt: [Int: UInt64] = [:]

        mutating func discardCandidate() {
            candidate = nil
            token &+= 1  // a load still running for it is ignored when it finishes
        }

        mutating func setCandidateIndex(_ i: Int) { candidate?.index = i }

        var nextItemForStatus: QueueItem? {
            if let i = incoming { return i.item }
            if let c = candidate, playing != nil { return c.item }
            let i = playing == nil ? (candidate.map { $0.index + 1 } ?? nextIndex) : nextIndex
            return i < items.count ? items[i] : nil
        }
    }

    private var rate: Double { Double(engine.sampleRate) }
    private var leadFrames: UInt64 { UInt64(QueuePlayer.commandLeadSeconds * rate) }

    /// Asks the loader for `items[nextIndex]` (if there is one and nothing is loading).
    private func requestNext(_ c: inout Core) {
        guard c.candidate == nil, c.nextIndex < c.items.count else { return }
        c.token &+= 1
        let token = c.token, index = c.nextIndex, item = c.items[index]
        c.nextIndex += 1
        c.candidate = Candidate(token: token, index: index, item: item, track: nil)
        let loader = self.loader, rate = engine.sampleRate
        loadQueue.async { [self] in
            let result: Result<Track, DJCoreError>
            do {
                let t = try loader(item)
                if t.sampleRate != rate {
                    result = .failure(.invalidArgument("\(item.path): the loader gave a track at \(t.sampleRate) Hz; the engine runs at \(rate) Hz"))
                } else if t.frameCount == 0 {
                    result = .failure(.trackLoad(path: item.path, reason: .empty, detail: "the track holds no audio"))
                } else {
                    result = .success(t)
                }
            } catch let e as DJCoreError {
                if case .trackLoad = e { result = .failure(e) } else { result = .failure(.invalidArgument("\(item.path): \(e)")) }
            } catch {
                result = .failure(.invalidArgument("\(item.path): \(error)"))
            }
            finishedLoads.withLock { $0.append(LoadResult(token: token, result: result)) }
        }
    }

    private func advance(_ c: inout Core) throws -> [QueueEvent] {
        var events: [QueueEvent] = []
        let done = finishedLoads.withLock { r -> [LoadResult] in defer { r.removeAll() }; return r }
        guard c.active else { return [] }
        let now = engine.frame

        // A stop that has faded out.
        if let stopAt = c.stopAt {
            if now >= stopAt + UInt64(engine.configuration.declickFrames) {
                events += finishStop(&c, frame: stopAt, now: now, unload: true)
            }
            return events
        }

        // Finished loads: the candidate's track, or its error (and on to the next item).
        for r in done where r.token == c.candidate?.token {
            switch r.result {
            case let .success(track): c.candidate?.track = track
            case let .failure(e):
                let cand = c.candidate!
                c.candidate = nil
                let message = "skipped \(cand.item.title) (entry \(cand.item.entryID)): \(e.description)"
                c.errors.append(message)
                if c.errors.count > QueuePlayer.maxErrors { c.errors.removeFirst(c.errors.count - QueuePlayer.maxErrors) }
                events.append(.itemSkipped(index: cand.index, item: cand.item, error: e.description))
            }
        }

        // Tracks that started, and fade-outs that completed.
        if let inc = c.incoming, now >= inc.startFrame {
            if let p = c.playing { c.outgoing = p }
            c.playing = inc
            c.incoming = nil
            events.append(.trackStarted(index: inc.index, item: inc.item, deck: inc.deck, frame: inc.startFrame))
        }
        if let o = c.outgoing, now >= o.silentFrame {
            events.append(.trackEnded(index: o.index, item: o.item, deck: o.deck, frame: o.silentFrame))
            c.outgoing = nil
        }

        if c.incoming == nil { requestNext(&c) }
        if c.incoming == nil, let cand = c.candidate, let track = cand.track {
            try schedule(&c, cand, track, now: now)
        }

        // The end of the list: the last track has gone silent and nothing follows.
        if let p = c.playing, c.incoming == nil, c.candidate == nil, c.nextIndex >= c.items.count, now >= p.silentFrame {
            events.append(.trackEnded(index: p.index, item: p.item, deck: p.deck, frame: p.silentFrame))
            c.playing = nil
            if let o = c.outgoing {
                events.append(.trackEnded(index: o.index, item: o.item, deck: o.deck, frame: o.silentFrame))
                c.outgoing = nil
            }
            try unloadDecks()
            c.active = false
            c.skipRequested = false
            events.append(.queueFinished(frame: p.silentFrame))
        } else if c.playing == nil, c.incoming == nil, c.candidate == nil, c.nextIndex >= c.items.count {
            // Nothing in the list could be loaded.
            c.active = false
            events.append(.queueFinished(frame: now))
        }
        return events
    }

    /// Where a track starts and ends, and its trim, from its analysis.
    private func placement(_ track: Track, _ analysis: TrackAnalysis?) -> (inFrame: Int64, outFrame: Int64, trimDb: Double) {
        let n = track.frameCount
        guard let a = analysis else { return (0, n, 0) }
        let r = Double(track.sampleRate)
        var inFrame: Int64 = 0
        if a.musicStart.isFinite, a.musicStart > 0 { inFrame = min(Int64((a.musicStart * r).rounded()), n - 1) }
        var outFrame = n
        if a.musicEnd.isFinite, a.musicEnd > a.musicStart {
            outFrame = max(inFrame + 1, min(n, Int64((a.musicEnd * r).rounded())))
        }
        var trim = 0.0
        if let g = a.loudness.gainDB, g.isFinite { trim = min(12, max(-12, g)) }
        return (inFrame, outFrame, trim)
    }

    /// Puts the loaded candidate on a deck when its transition is due (or now, after a skip, or first).
    private func schedule(_ c: inout Core, _ cand: Candidate, _ track: Track, now: UInt64) throws {
        let place = placement(track, cand.item.analysis)
        let earliest = now + leadFrames
        let want = Int64(crossfadeSeconds * rate)
        let incomingMusic = place.outFrame - place.inFrame
        var start: UInt64
        var fade: Int64 = 0
        let deck: Int
        if var p = c.playing {
            deck = p.deck == decks.0 ? decks.1 : decks.0
            let free = c.deckFreeAt[deck] ?? 0
            if c.skipRequested {
                start = max(earliest, free)
                let left = p.fileEndFrame > start ? Int64(p.fileEndFrame - start) : 0
                fade = max(0, min(want, incomingMusic / 2, left))
            } else {
                fade = max(0, min(want, (p.outFrame - p.inFrame) / 2, incomingMusic / 2))
                let due = p.musicEndFrame - UInt64(fade)
                guard now + UInt64(QueuePlayer.scheduleAheadSeconds * rate) >= due else { return }
                start = max(due, earliest, free)
                // Late (the load or a busy deck held it up): the fade still ends at the music's end.
                fade = min(fade, p.musicEndFrame > start ? Int64(p.musicEndFrame - start) : 0)
            }
            let pauseAt = start + UInt64(fade)
            try engine.send(.pause(deck: p.deck), at: pauseAt)
            p.pauseFrame = min(p.pauseFrame ?? .max, pauseAt)
            c.playing = p
            c.deckFreeAt[p.deck] = pauseAt
        } else {
            // The first track: after anything an earlier run still has scheduled (its crossfader ramp
            // included), so that the crossfader jump below is the last word.
            deck = decks.0
            start = max(earliest, c.deckFreeAt.values.max() ?? 0)
        }
        let side: Double = deck == decks.0 ? -1 : 1
        try engine.send([
            .load(deck: deck, track: track, position: Double(place.inFrame)),
            .trim(deck: deck, db: place.trimDb, .immediate),
            .fader(deck: deck, 1, .immediate),
            .play(deck: deck),
            .crossfader(side, fade > 0 ? .frames(Int(fade)) : .immediate),
        ], at: start)
        c.incoming = Slot(index: cand.index, followFrom: cand.index + 1, item: cand.item, track: track, deck: deck,
                          startFrame: start, inFrame: place.inFrame, outFrame: place.outFrame, pauseFrame: nil)
        c.candidate = nil
        c.skipRequested = false
    }

    /// Fades every deck the player has started (or scheduled) to silence and pauses it. The fade starts
    /// with the engine's next period (a stop need not be sample-accurate, it must be prompt); the pause
    /// follows `commandLeadSeconds` after the fade's nominal end.
    private func fadeOut(_ c: inout Core, seconds: Double, now: UInt64) throws {
        let fade = UInt64((seconds * rate).rounded())
        let end = now + leadFrames + fade
        for key in [\Core.outgoing, \Core.playing, \Core.incoming] {
            guard var s = c[keyPath: key] else { continue }
            if let p = s.pauseFrame, p <= now { continue }  // already silent
            if s.startFrame > now {
                // Not started yet, its commands are in the engine's queue: silence it as it starts.
                try engine.send([.fader(deck: s.deck, 0, .immediate), .pause(deck: s.deck)], at: s.startFrame)
                s.pauseFrame = s.startFrame
            } else {
                try engine.send(.fader(deck: s.deck, 0, fade > 0 ? .frames(Int(fade)) : .immediate))
                try engine.send(.pause(deck: s.deck), at: end)
                s.pauseFrame = min(s.pauseFrame ?? .max, end)
            }
            c[keyPath: key] = s
            c.deckFreeAt[s.deck] = max(c.deckFreeAt[s.deck] ?? 0, s.pauseFrame!)
        }
        c.discardCandidate()
        c.skipRequested = false
        c.stopAt = max(end, [c.outgoing, c.playing, c.incoming].compactMap { $0?.pauseFrame }.max() ?? end)
    }

    /// Ends a stop: reports what went silent, goes idle.
    private func finishStop(_ c: inout Core, frame: UInt64, now: UInt64, unload: Bool) -> [QueueEvent] {
        var events: [QueueEvent] = []
        for s in [c.outgoing, c.playing] {
            if let s, s.startFrame <= frame {
                events.append(.trackEnded(index: s.index, item: s.item, deck: s.deck, frame: min(frame, s.silentFrame)))
            }
        }
        c.outgoing = nil
        c.playing = nil
        c.incoming = nil
        c.discardCandidate()
        c.stopAt = nil
        c.skipRequested = false
        c.active = false
        if unload { try? unloadDecks() }
        events.append(.stopped(frame: frame))
        return events
    }

    private func unloadDecks() throws {
        try engine.send([.unload(deck: decks.0), .unload(deck: decks.1)])
    }

    private func emit(_ events: [QueueEvent]) {
        guard !events.isEmpty, let h = handler.withLock({ $0 }) else { return }
        for e in events { h(e) }
    }
}
