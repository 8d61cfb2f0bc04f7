import Foundation
import PostgateMaildir
import PostgateIndex

/// The fetch bookkeeping of receiving gateways (`FetchLedger`): checkpoints and live state.
/// A stored message's checkpoint goes with `commitDelivery(_:to:envelope:checkpoint:)`.
extension MailStore {
    /// Records a message that is not stored (too large, unreadable) with `reason`, so that
    /// fetching goes on past it.
    public func recordSkipped(_ checkpoint: FetchCheckpoint, reason: String) throws(StoreError) {
        try index.record(checkpoint, outcome: .skipped, reason: reason)
    }

    public func folderCheckpoint(gatewayID: Int64, folder: String) throws(StoreError) -> FolderCheckpoint? {
        try index.folderCheckpoint(gatewayID: gatewayID, folder: folder)
    }

    public func resetFolder(gatewayID: Int64, folder: String, uidValidity: UInt32) throws(StoreError) {
        try index.resetFolder(gatewayID: gatewayID, folder: folder, uidValidity: uidValidity)
    }

    public func fetchedRemoteIDs(gatewayID: Int64, folder: String) throws(StoreError) -> [String: FetchCheckpoint.Outcome] {
        try index.fetchedRemoteIDs(gatewayID: gatewayID, folder: folder)
    }

    public func forgetRemoteIDs(_ ids: Set<String>, gatewayID: Int64, folder: String) throws(StoreError) {
        try index.forgetRemoteIDs(ids, gatewayID: gatewayID, folder: folder)
    }

    /// Where a Graph folder's delta query resumes; nil before its first round.
    public func deltaLink(gatewayID: Int64, folder: String) throws(StoreError) -> String? {
        try index.deltaLink(gatewayID: gatewayID, folder: folder)
    }

    public func deltaLinks(gatewayID: Int64) throws(StoreError) -> [String: String] {
        try index.deltaLinks(gatewayID: gatewayID)
    }

    public func setDeltaLink(_ link: String?, gatewayID: Int64, folder: String) throws(StoreError) {
        try index.setDeltaLink(link, gatewayID: gatewayID, folder: folder)
    }

    public func pendingActions(gatewayID: Int64, folder: String, limit: Int) throws(StoreError) -> [String] {
        try index.pendingActions(gatewayID: gatewayID, folder: folder, limit: limit)
    }

    public func actionsDone(_ ids: [String], gatewayID: Int64, folder: String) throws(StoreError) {
        try index.actionsDone(ids, gatewayID: gatewayID, folder: folder)
    }

    public func liveState(gatewayID: Int64) throws(StoreError) -> GatewayLiveState? {
        try index.liveState(gatewayID: gatewayID)
    }

    public func setLiveState(_ state: GatewayLiveState, gatewayID: Int64) throws(StoreError) {
        try index.setLiveState(state, gatewayID: gatewayID)
    }

    public func folderCheckpoints(gatewayID: Int64) throws(StoreError) -> [String: FolderCheckpoint] {
        try index.folderCheckpoints(gatewayID: gatewayID)
    }

    public func skippedMessages(gatewayID: Int64, limit: Int = 20) throws(StoreError) -> [SkippedRemoteMessage] {
        try index.skippedMessages(gatewayID: gatewayID, limit: limit)
    }

    public func fetchedUIDs(gatewayID: Int64, folder: String, uidValidity: UInt32, in range: ClosedRange<UInt32>,
                            importedOnly: Bool = false) throws(StoreError) -> Set<UInt32> {
        try index.fetchedUIDs(gatewayID: gatewayID, folder: folder, uidValidity: uidValidity, in: range, importedOnly: importedOnly)
    }

    public func advanceSafeUID(gatewayID: Int64, folder: String, uidValidity: UInt32, to uid: UInt32) throws(StoreError) {
        try index.advanceSafeUID(gatewayID: gatewayID, folder: folder, uidValidity: uidValidity, to: uid)
    }
}
