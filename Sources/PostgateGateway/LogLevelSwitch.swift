import Logging
import Synchronization

/// The process's log level, which a reload changes (`log_level`): every logger made
/// through `handler(_:)` reads it at each log call.
public final class LogLevelSwitch: Sendable {
    private let level: Mutex<Logger.Level>

    public init(_ level: Logger.Level) {
        self.level = Mutex(level)
    }

    public var current: Logger.Level {
        get { level.withLock { $0 } }
        set { level.withLock { $0 = newValue } }
    }

    /// `base` with its level taken from this switch.
    public func handler(_ base: any LogHandler) -> any LogHandler {
        SwitchedLogHandler(base: base, levels: self)
    }
}

/// A log handler whose level is the switch's; a level set on one logger (`logger.logLevel
/// = …`) stays that logger's own.
struct SwitchedLogHandler: LogHandler {
    var base: any LogHandler
    let levels: LogLevelSwitch
    private var ownLevel: Logger.Level?

    init(base: any LogHandler, levels: LogLevelSwitch) {
        self.base = base
        self.levels = levels
    }

    var logLevel: Logger.Level {
        get { ownLevel ?? levels.current }
        set { ownLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }

    func log(event: LogEvent) {
        base.log(event: event)
    }
}
