import CoreMetrics
import PostgateMetrics

/// One IMAP listener's counters and the latency of the commands that run on the store,
/// made once and shared by its connections.
public struct IMAPMetrics: Sendable {
    /// A command's name as a label value; the UID forms count with their commands.
    public enum Command: String, MetricLabel {
        case select, examine, create, delete, rename, subscribe, unsubscribe, list, lsub, status, append, check, close
        case unselect, expunge, search, fetch, store, copy, move, sort, thread, namespace, id, enable, other

        public init(_ command: IMAPCommand) {
            self = switch command {
            case .select(_, let readOnly, _, _): readOnly ? .examine : .select
            case .create: .create
            case .delete: .delete
            case .rename: .rename
            case .subscribe: .subscribe
            case .unsubscribe: .unsubscribe
            case .list: .list
            case .lsub: .lsub
            case .status: .status
            case .append: .append
            case .check: .check
            case .close: .close
            case .unselect: .unselect
            case .expunge: .expunge
            case .search: .search
            case .fetch: .fetch
            case .store: .store
            case .copy: .copy
            case .move: .move
            case .sort: .sort
            case .thread: .thread
            case .namespace: .namespace
            case .id: .id
            case .enable: .enable
            default: .other
            }
        }
    }

    let connectionsOpened: CoreMetrics.Counter
    let connectionsClosed: CoreMetrics.Counter
    let commandDuration: [Command: CoreMetrics.Timer]

    /// - Parameter listener: the listener's kind (`imap`, `imaps`), a label value.
    public init(listener: String, factory: any MetricsFactory) {
        let dimensions = [("listener", listener)]
        connectionsOpened = Counter(label: MetricName.imapConnectionsOpened, dimensions: dimensions, factory: factory)
        connectionsClosed = Counter(label: MetricName.imapConnectionsClosed, dimensions: dimensions, factory: factory)
        commandDuration = Dictionary(uniqueKeysWithValues: Command.allCases.map { command in
            (command, Timer(label: MetricName.imapCommandDuration, dimensions: dimensions + [("command", command.rawValue)], factory: factory))
        })
    }

    /// Counts nothing: connections of servers started without metrics (tests, tools).
    public static let disabled = IMAPMetrics(listener: "", factory: NOOPMetricsHandler.instance)
}
