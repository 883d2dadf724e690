import CDSP
import Foundation

public enum EQBand: String, Sendable, Codable, CaseIterable {
    case low, mid, high
    var index: Int64 { switch self { case .low: 0; case .mid: 1; case .high: 2 } }
}

public enum CrossfaderCurve: String, Sendable, Codable, CaseIterable {
    /// Gains 1−x and x: a dip of 6 dB at the centre.
    case linear
    /// cos/sin law: each side −3 dB at the centre, constant loudness for uncorrelated material.
    case constantPower = "constant-power"
    /// Both sides full except in the outer 3 % of travel (scratch cut).
    case sharp
    var c: cdsp_xfader_curve {
        switch self {
        case .linear: CDSP_XFADER_LINEAR
        case .constantPower: CDSP_XFADER_CONSTANT_POWER
        case .sharp: CDSP_XFADER_SHARP
        }
    }
}

public enum CrossfaderSide: String, Sendable, Codable, CaseIterable {
    case a = "A", b = "B", thru
    var c: cdsp_xfader_assign {
        switch self {
        case .a: CDSP_ASSIGN_A
        case .b: CDSP_ASSIGN_B
        case .thru: CDSP_ASSIGN_THRU
        }
    }
}

/// How a parameter reaches a new value: over the engine's default anti-zipper ramp, over a given
/// number of frames (a crossfade, an EQ swap, a filter sweep), or at once.
public enum Ramp: Sendable, Equatable {
    case standard
    case frames(Int)
    case immediate
}

/// Everything a person (or the DJ agent, or a mix file) can do to the engine.
/// Deck numbers start at 1, as on a mixer. Gains are in dB (−.infinity silences);
/// positions are in frames at the engine rate.
public enum EngineCommand: Sendable {
    case load(deck: Int, track: Track, position: Double = 0)
    case unload(deck: Int)
    case play(deck: Int)
    case pause(deck: Int)
    case seek(deck: Int, frame: Double)
    /// Sets the cue point; `nil` takes the deck's current position.
    case setCue(deck: Int, frame: Int64?)
    case jumpToCue(deck: Int)
    /// Playback rate 0.5 ... 2.0 (speed and pitch together, like a turntable). `.standard` applies it at
    /// once (a rate step does not click); give `.frames(n)` for a glide.
    case rate(deck: Int, Double, Ramp = .standard)
    case loop(deck: Int, start: Int64, end: Int64)
    case loopIn(deck: Int, frame: Int64?)
    case loopOut(deck: Int, frame: Int64?)
    case loopExit(deck: Int)
    case loopReenter(deck: Int)
    /// Input gain, −inf ... +18 dB.
    case trim(deck: Int, db: Double, Ramp = .standard)
    /// Band gain, −inf ... +12 dB.
    case eq(deck: Int, band: EQBand, db: Double, Ramp = .standard)
    case kill(deck: Int, band: EQBand, Bool)
    /// One-knob filter: −1 (low-pass closed) ... 0 (off) ... +1 (high-pass closed).
    case filter(deck: Int, Double, Ramp = .standard)
    case filterResonance(deck: Int, Double)
    /// Channel fader 0 ... 1 (linear gain).
    case fader(deck: Int, Double, Ramp = .standard)
    case assign(deck: Int, CrossfaderSide)
    /// Sends the channel (pre-fader) to the cue bus (headphones).
    case cue(deck: Int, Bool)
    /// −1 (all A) ... +1 (all B).
    case crossfader(Double, Ramp = .standard)
    case curve(CrossfaderCurve)
    /// Master gain −inf ... +18 dB (before the limiter).
    case masterGain(db: Double, Ramp = .standard)
    /// Headphone blend 0 (cue only) ... 1 (master only).
    case cueMix(Double, Ramp = .standard)
    case cueGain(db: Double, Ramp = .standard)
    case limiterCeiling(db: Double)

    /// The deck the command addresses, if any.
    public var deck: Int? {
        switch self {
        case let .load(d, _, _), let .unload(d), let .play(d), let .pause(d), let .seek(d, _), let .setCue(d, _),
             let .jumpToCue(d), let .rate(d, _, _), let .loop(d, _, _), let .loopIn(d, _), let .loopOut(d, _),
             let .loopExit(d), let .loopReenter(d), let .trim(d, _, _), let .eq(d, _, _, _), let .kill(d, _, _),
             let .filter(d, _, _), let .filterResonance(d, _), let .fader(d, _, _), let .assign(d, _), let .cue(d, _):
            return d
        case .crossfader, .curve, .masterGain, .cueMix, .cueGain, .limiterCeiling:
            return nil
        }
    }
}

/// dB to linear gain; −inf (or anything below −120 dB) is silence.
func dbToGain(_ db: Double) -> Double {
    db <= -120 ? 0 : Foundation.pow(10, db / 20)
}

/// Linear gain to dB (−inf for 0).
func gainToDb(_ g: Double) -> Double {
    g <= 0 ? -.infinity : 20 * Foundation.log10(g)
}

extension EngineCommand {
    /// Validates and encodes into the C command. Throws with a message that names the bad value.
    func encode(frame: UInt64, config: EngineConfiguration) throws -> cdsp_cmd {
        if let d = deck, !(1...config.decks).contains(d) {
            throw DJCoreError.invalidArgument("deck \(d) does not exist (decks are 1 ... \(config.decks))")
        }
        let target = UInt32((deck ?? 1) - 1)
        /// `standard`: what `.standard` means for this parameter (the anti-zipper ramp unless given).
        func ramp(_ r: Ramp, standard: Int? = nil) throws -> UInt32 {
            switch r {
            case .standard: return UInt32(standard ?? config.defaultRampFrames)
            case .immediate: return 0
            case let .frames(n):
                guard n >= 0 && n <= Int(UInt32.max) else {
                    throw DJCoreError.invalidArgument("ramp of \(n) frames is out of range")
                }
                return UInt32(n)
            }
        }
        func finite(_ v: Double, _ what: String) throws -> Double {
            guard v.isFinite else { throw DJCoreError.invalidArgument("\(what) must be a finite number, got \(v)") }
            return v
        }
        func within(_ v: Double, _ range: ClosedRange<Double>, _ what: String) throws -> Double {
            guard range.contains(v) else {
                throw DJCoreError.invalidArgument("\(what) \(v) is outside \(range.lowerBound) ... \(range.upperBound)")
            }
            return v
        }
        func gain(_ db: Double, max: Double, _ what: String) throws -> Double {
            if db == -.infinity { return 0 }
            guard !db.isNaN, db <= max else {
                throw DJCoreError.invalidArgument("\(what) \(db) dB is above the maximum of +\(Int(max)) dB")
            }
            return dbToGain(db)
        }
        var c = cdsp_cmd_make(CDSP_CMD_NOP, target, frame)
        func set(_ t: cdsp_cmd_type, value: Double = 0, a: Int64 = 0, b: Int64 = 0, ramp r: UInt32 = 0) {
            c.type = t.rawValue
            c.value = value
            c.a = a
            c.b = b
            c.ramp_frames = r
        }
        switch self {
        case let .load(_, track, position):
            guard track.sampleRate == config.sampleRate else {
                throw DJCoreError.invalidArgument(
                    "track \(track.source) is at \(track.sampleRate) Hz; the engine runs at \(config.sampleRate) Hz")
            }
            set(CDSP_CMD_LOAD, value: try finite(position, "load position"))
            c.ptr = UnsafeRawPointer(track.cTrack)
        case .unload: set(CDSP_CMD_LOAD)
        case .play: set(CDSP_CMD_PLAY)
        case .pause: set(CDSP_CMD_PAUSE)
        case let .seek(_, f): set(CDSP_CMD_SEEK, value: try finite(f, "seek position"))
        case let .setCue(_, f): set(CDSP_CMD_CUE_SET, value: f == nil ? 1 : 0, a: f ?? -1)
        case .jumpToCue: set(CDSP_CMD_CUE_JUMP)
        case let .rate(_, r, rp):
            // A rate step cannot click (the waveform stays continuous), and beat-matching arithmetic wants
            // the new rate from the command's frame on: `.standard` means "at once" for rates.
            set(CDSP_CMD_RATE, value: try within(r, 0.5...2.0, "rate"), ramp: try ramp(rp, standard: 0))
        case let .loop(_, s, e):
            guard s >= 0, e > s else { throw DJCoreError.invalidArgument("loop needs 0 <= start < end, got \(s) ..< \(e)") }
            set(CDSP_CMD_LOOP_SET, a: s, b: e)
        case let .loopIn(_, f): set(CDSP_CMD_LOOP_IN, value: f == nil ? 1 : 0, a: f ?? 0)
        case let .loopOut(_, f): set(CDSP_CMD_LOOP_OUT, value: f == nil ? 1 : 0, a: f ?? 0)
        case .loopExit: set(CDSP_CMD_LOOP_EXIT)
        case .loopReenter: set(CDSP_CMD_LOOP_REENTER)
        case let .trim(_, db, r): set(CDSP_CMD_TRIM, value: try gain(db, max: 18, "trim"), ramp: try ramp(r))
        case let .eq(_, band, db, r):
            set(CDSP_CMD_EQ, value: try gain(db, max: 12, "EQ \(band.rawValue)"), a: band.index, ramp: try ramp(r))
        case let .kill(_, band, on):
            set(CDSP_CMD_KILL, value: on ? 1 : 0, a: band.index, ramp: UInt32(config.defaultRampFrames))
        case let .filter(_, v, r): set(CDSP_CMD_FILTER, value: try within(v, -1...1, "filter"), ramp: try ramp(r))
        case let .filterResonance(_, q): set(CDSP_CMD_FILTER_RESONANCE, value: try within(q, 0.5...8, "filter resonance"))
        case let .fader(_, v, r): set(CDSP_CMD_FADER, value: try within(v, 0...1, "fader"), ramp: try ramp(r))
        case let .assign(_, side): set(CDSP_CMD_ASSIGN, a: Int64(side.c.rawValue))
        case let .cue(_, on): set(CDSP_CMD_CUE_BUS, value: on ? 1 : 0)
        case let .crossfader(v, r): set(CDSP_CMD_CROSSFADER, value: try within(v, -1...1, "crossfader"), ramp: try ramp(r))
        case let .curve(cv): set(CDSP_CMD_CURVE, a: Int64(cv.c.rawValue))
        case let .masterGain(db, r): set(CDSP_CMD_MASTER_GAIN, value: try gain(db, max: 18, "master gain"), ramp: try ramp(r))
        case let .cueMix(v, r): set(CDSP_CMD_CUE_MIX, value: try within(v, 0...1, "cue mix"), ramp: try ramp(r))
        case let .cueGain(db, r): set(CDSP_CMD_CUE_GAIN, value: try gain(db, max: 18, "cue gain"), ramp: try ramp(r))
        case let .limiterCeiling(db): set(CDSP_CMD_LIMITER_CEILING, value: try within(db, -40...0, "limiter ceiling"))
        }
        return c
    }
}
