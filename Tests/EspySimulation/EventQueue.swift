/// A min-heap of pending simulation actions, ordered by virtual time and then by the order
/// they were scheduled, so that simultaneous actions run in a reproducible order.
///
/// The heap holds small (time, sequence, slot) entries; the actions themselves sit in a slot
/// array, so sifting never copies a large enum.
struct EventQueue<Action> {
    private struct Entry {
        let time: UInt64
        let sequence: UInt64
        let slot: Int

        func precedes(_ other: Entry) -> Bool {
            time != other.time ? time < other.time : sequence < other.sequence
        }
    }

    private var heap: [Entry] = []
    private var slots: [Action?] = []
    private var freeSlots: [Int] = []
    private var lastSequence: UInt64 = 0

    var count: Int { heap.count }
    var nextTime: UInt64? { heap.first?.time }

    mutating func push(_ action: Action, at time: UInt64) {
        lastSequence += 1
        let slot: Int
        if let reused = freeSlots.popLast() {
            slot = reused
            slots[slot] = action
        } else {
            slot = slots.count
            slots.append(action)
        }
        heap.append(Entry(time: time, sequence: lastSequence, slot: slot))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (time: UInt64, action: Action)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].precedes(heap[smallest]) { smallest = left }
            if right < heap.count && heap[right].precedes(heap[smallest]) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        let action = slots[top.slot].take()!
        freeSlots.append(top.slot)
        return (top.time, action)
    }
}
