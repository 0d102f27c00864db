import EspyHTTP

/// The requests of one connection that are read and not yet fully answered, oldest first.
/// Slots are numbered in arrival order, so finding one is an index computation, and removing the
/// oldest does not shift the others.
struct ResponseQueue {
    struct Slot {
        let id: UInt64
        /// nil for a protocol error, which has no parsed request.
        let method: HTTPMethod?
        let path: String?
        let keepAlive: Bool
        let startedAtMicroseconds: UInt64
        var response: HTTPResponse?
        var streamedBytes = 0
    }

    private var slots: [Slot] = []
    private var headIndex = 0
    private var nextID: UInt64 = 0

    var count: Int { slots.count - headIndex }
    var isEmpty: Bool { headIndex == slots.count }
    var first: Slot? { isEmpty ? nil : slots[headIndex] }

    mutating func append(method: HTTPMethod?, path: String?, keepAlive: Bool, startedAtMicroseconds: UInt64) -> UInt64 {
        let id = nextID
        nextID += 1
        slots.append(Slot(id: id, method: method, path: path, keepAlive: keepAlive,
                          startedAtMicroseconds: startedAtMicroseconds))
        return id
    }

    /// False when the slot is already answered or no longer waiting (a second reply, or one
    /// after the connection closed).
    mutating func fill(_ id: UInt64, with response: HTTPResponse) -> Bool {
        guard let first, id >= first.id, id < nextID else { return false }
        let index = headIndex + Int(id - first.id)
        guard slots[index].response == nil else { return false }
        slots[index].response = response
        return true
    }

    mutating func addStreamedBytes(_ count: Int) {
        slots[headIndex].streamedBytes += count
    }

    mutating func removeFirst() -> Slot {
        let removed = slots[headIndex]
        slots[headIndex].response = nil
        headIndex += 1
        if headIndex == slots.count {
            slots.removeAll(keepingCapacity: true)
            headIndex = 0
        } else if headIndex >= 32, headIndex * 2 >= slots.count {
            // Pipelining that never drains the queue: compact now and then, amortised O(1).
            slots.removeFirst(headIndex)
            headIndex = 0
        }
        return removed
    }

    mutating func removeAll() {
        slots.removeAll()
        headIndex = 0
    }
}
