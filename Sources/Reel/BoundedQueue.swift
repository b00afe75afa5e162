import Foundation

/// A first-in, first-out queue between two threads that holds at most `capacity`
/// elements: `push` waits while it is full, `pop` while it is empty. `close` wakes
/// both: pushes are dropped from then on, and pops drain what is left, then return nil.
///
/// Thread-safety: Safe: one producer and one consumer (or more) on any threads.
final class BoundedQueue<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    private var elements: [Element] = []
    private var head = 0
    private var closed = false
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0, "a queue needs room for one element")
        self.capacity = capacity
        elements.reserveCapacity(capacity)
    }

    /// Appends `element`, waiting for room; false when the queue was closed.
    @discardableResult
    func push(_ element: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while count >= capacity && !closed { condition.wait() }
        guard !closed else { return false }
        elements.append(element)
        condition.broadcast()
        return true
    }

    /// Removes the oldest element, waiting for one; nil once closed and empty.
    func pop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while count == 0 && !closed { condition.wait() }
        return takeFirst()
    }

    /// Removes the oldest element, waiting at most `timeout` seconds for one.
    func pop(waitingAtMost timeout: Double) -> Element? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: timeout)
        while count == 0 && !closed && condition.wait(until: deadline) {}
        return takeFirst()
    }

    /// Removes the oldest element if there is one; never waits.
    func tryPop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        return takeFirst()
    }

    /// Calls `body` with the queued elements, oldest first, under the lock; never waits.
    func withElements<R>(_ body: (ArraySlice<Element>) -> R) -> R {
        condition.lock()
        defer { condition.unlock() }
        return body(elements[head...])
    }

    /// No more pushes; waiting threads wake up.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Whether the queue is closed and empty: nothing more will come out.
    var isFinished: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed && count == 0
    }

    private var count: Int { elements.count - head }

    private func takeFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = elements[head]
        head += 1
        if head == elements.count {
            elements.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 64 && head * 2 > elements.count {
            elements.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return element
    }
}
