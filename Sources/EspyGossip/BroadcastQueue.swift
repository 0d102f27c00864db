import EspyGossipWire
import Foundation

/// Messages waiting to be gossiped, each sent a limited number of times (memberlist
/// `TransmitLimitedQueue`, spec §10).
///
/// Order: fewest transmissions first, then longest, then newest, so fresh news goes out
/// before news everyone has heard, and big messages are packed before small ones fill gaps.
/// A broadcast named after a node replaces any queued one about that node: only the newest
/// claim about a node is worth spreading.
struct BroadcastQueue: Sendable {
    struct Entry: Sendable {
        var message: PacketMessage
        /// The node the message is about, or nil for messages that never replace others
        /// (Serf user messages).
        var name: String?
        /// Encoded size including the type byte, cached because packing checks it often.
        var length: Int
        var transmits: Int
        /// Submission order; higher is newer.
        var id: Int64
    }

    /// Sorted by `precedes`.
    private(set) var entries: [Entry] = []
    private var namedIDs: [String: Int64] = [:]
    private var lastID: Int64 = 0

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    func contains(named name: String) -> Bool {
        namedIDs[name] != nil
    }

    /// Queues `message` with zero transmissions, dropping any queued message with the same name.
    mutating func enqueue(_ message: PacketMessage, name: String?) {
        if let name, let oldID = namedIDs.removeValue(forKey: name),
           let index = entries.firstIndex(where: { $0.id == oldID }) {
            entries.remove(at: index)
        }
        lastID += 1
        let entry = Entry(message: message, name: name, length: message.encoded().count, transmits: 0, id: lastID)
        insert(entry)
    }

    /// Takes messages for one packet: each costs `overhead` bytes plus its length, and the
    /// total stays within `limit`. Taken messages count one transmission; those that reach
    /// `transmitLimit` are dropped. At most `maximumCount` messages are taken.
    ///
    /// memberlist walks the transmit levels from the lowest and, within each, takes the
    /// largest message that still fits, until the packet is full. Entries are sorted by
    /// level and then by length descending, and the free space only shrinks, so one forward
    /// pass taking every entry that fits makes exactly the same choices.
    mutating func take(overhead: Int, limit: Int, transmitLimit: Int, maximumCount: Int) -> [PacketMessage] {
        guard !entries.isEmpty else { return [] }
        var taken: [PacketMessage] = []
        var takenIndices: [Int] = []
        var used = 0
        for index in entries.indices {
            let free = limit - used - overhead
            if free <= 0 || taken.count >= maximumCount { break }
            guard entries[index].length <= free else { continue }
            used += overhead + entries[index].length
            taken.append(entries[index].message)
            takenIndices.append(index)
        }
        guard !takenIndices.isEmpty else { return [] }
        var reinsert: [Entry] = []
        for index in takenIndices.reversed() {
            var entry = entries.remove(at: index)
            if entry.transmits + 1 >= transmitLimit {
                if let name = entry.name { namedIDs.removeValue(forKey: name) }
            } else {
                entry.transmits += 1
                reinsert.append(entry)
            }
        }
        for entry in reinsert.reversed() {
            insert(entry)
        }
        if entries.isEmpty { lastID = 0 }
        return taken
    }

    /// memberlist `retransmitLimit`: `multiplier × ceil(log10(nodeCount + 1))`.
    static func retransmitLimit(multiplier: Int, nodeCount: Int) -> Int {
        multiplier * Int(log10(Double(nodeCount + 1)).rounded(.up))
    }

    private mutating func insert(_ entry: Entry) {
        var low = 0, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if Self.precedes(entries[middle], entry) { low = middle + 1 } else { high = middle }
        }
        entries.insert(entry, at: low)
        if let name = entry.name { namedIDs[name] = entry.id }
    }

    private static func precedes(_ a: Entry, _ b: Entry) -> Bool {
        if a.transmits != b.transmits { return a.transmits < b.transmits }
        if a.length != b.length { return a.length > b.length }
        return a.id > b.id
    }
}
