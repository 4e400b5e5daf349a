import NIOCore

/// Deadlines in order, for a loop that keeps its own timers: adding one is O(log n), the earliest is at hand.
/// Nothing is cancelled: an owner that re-arms remembers the deadline it means and ignores the others as they come.
struct TimerHeap<Job> {
    private var items: [(deadline: NIODeadline, job: Job)] = []

    /// The earliest deadline, if any.
    var next: NIODeadline? { items.first?.deadline }

    mutating func push(_ deadline: NIODeadline, _ job: Job) {
        items.append((deadline, job))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].deadline < items[parent].deadline else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    /// The earliest job if its deadline is at or before `now`, taken out.
    mutating func popDue(now: NIODeadline) -> (deadline: NIODeadline, job: Job)? {
        guard let first = items.first, first.deadline <= now else { return nil }
        let last = items.removeLast()
        guard !items.isEmpty else { return first }
        items[0] = last
        var i = 0
        while true {
            let (l, r) = (2 * i + 1, 2 * i + 2)
            var smallest = i
            if l < items.count, items[l].deadline < items[smallest].deadline { smallest = l }
            if r < items.count, items[r].deadline < items[smallest].deadline { smallest = r }
            guard smallest != i else { break }
            items.swapAt(i, smallest)
            i = smallest
        }
        return first
    }
}
