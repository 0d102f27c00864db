@testable import EspyLoop
import EspyTestKit
import Foundation
import XCTest

final class UDPSocketTests: XCTestCase {
    struct Datagram: Equatable {
        let payload: [UInt8]
        let sender: SocketAddress
    }

    func testDatagramArrivesWithItsPayloadAndSenderAddress() throws {
        let loopThread = try startedLoopThread()
        let loopPthread = try loopThread.sync { pthread_self() }
        let received = Locked<[(Datagram, Bool)]>([])
        let (alice, bob) = try loopThread.sync { () throws -> (UDPSocket, UDPSocket) in
            let any = try SocketAddress(host: "127.0.0.1", port: 0)
            let alice = try UDPSocket(loop: loopThread.loop, address: any)
            let bob = try UDPSocket(loop: loopThread.loop, address: any)
            try bob.startReceiving { bytes, sender in
                received.mutate { $0.append((Datagram(payload: Array(bytes), sender: sender), isCurrentThread(loopPthread))) }
            }
            return (alice, bob)
        }
        defer { stopLoop(loopThread) { alice.close(); bob.close() } }
        let (aliceAddress, bobAddress) = try loopThread.sync { (alice.localAddress, bob.localAddress) }
        XCTAssertNotEqual(aliceAddress.port, 0, "UDP socket did not report the port it bound")
        XCTAssertNotEqual(aliceAddress.port, bobAddress.port)

        let payload = Array("count me: {\"os\":\"linux\"}".utf8) + [0, 255, 10]
        let sendError = loopThread.await(timeout: 5) { (done: @escaping (LoopError?) -> Void) in
            alice.send(payload, to: bobAddress, completion: done)
        }
        XCTAssertNotNil(sendError.map { _ in () }, "send completion never ran")
        XCTAssertNil(sendError ?? nil)

        XCTAssertTrue(waitUntil(timeout: 5) { !received.value.isEmpty }, "datagram never arrived")
        let (datagram, onLoop) = try XCTUnwrap(received.value.first)
        XCTAssertEqual(datagram.payload, payload)
        XCTAssertEqual(datagram.sender.host, "127.0.0.1")
        XCTAssertEqual(datagram.sender.port, aliceAddress.port, "sender address is not the sending socket's")
        XCTAssertEqual(datagram.sender, aliceAddress)
        XCTAssertTrue(onLoop, "receive callback ran off the loop thread")
    }

    func testSeveralDatagramsEachArriveWholeAndSeparately() throws {
        let loopThread = try startedLoopThread()
        let received = Locked<[[UInt8]]>([])
        let (alice, bob) = try loopThread.sync { () throws -> (UDPSocket, UDPSocket) in
            let any = try SocketAddress(host: "127.0.0.1", port: 0)
            let alice = try UDPSocket(loop: loopThread.loop, address: any)
            let bob = try UDPSocket(loop: loopThread.loop, address: any)
            try bob.startReceiving { bytes, _ in received.mutate { $0.append(Array(bytes)) } }
            return (alice, bob)
        }
        defer { stopLoop(loopThread) { alice.close(); bob.close() } }
        let sizes = [1, 100, 1_400, 8_000, 60_000]
        try loopThread.sync {
            for size in sizes {
                alice.send([UInt8](repeating: UInt8(size % 256), count: size), to: bob.localAddress)
            }
        }
        XCTAssertTrue(waitUntil(timeout: 5) { received.value.count >= sizes.count })
        // Loopback keeps datagrams in order and whole.
        XCTAssertEqual(received.value.map(\.count), sizes)
        for (datagram, size) in zip(received.value, sizes) {
            XCTAssertTrue(datagram.allSatisfy { $0 == UInt8(size % 256) })
        }
    }

    func testEmptyDatagramIsDeliveredAsEmpty() throws {
        let loopThread = try startedLoopThread()
        let received = Locked<[Int]>([])
        let (alice, bob) = try loopThread.sync { () throws -> (UDPSocket, UDPSocket) in
            let any = try SocketAddress(host: "127.0.0.1", port: 0)
            let alice = try UDPSocket(loop: loopThread.loop, address: any)
            let bob = try UDPSocket(loop: loopThread.loop, address: any)
            try bob.startReceiving { bytes, _ in received.mutate { $0.append(bytes.count) } }
            return (alice, bob)
        }
        defer { stopLoop(loopThread) { alice.close(); bob.close() } }
        try loopThread.sync {
            alice.send([], to: bob.localAddress)
            alice.send([7], to: bob.localAddress)
        }
        XCTAssertTrue(waitUntil(timeout: 5) { received.value.count >= 2 }, "received \(received.value)")
        XCTAssertEqual(received.value, [0, 1])
    }

    func testBindingAUDPPortAlreadyBoundFailsWithEADDRINUSE() throws {
        let loopThread = try startedLoopThread()
        let first = try loopThread.sync { try UDPSocket(loop: loopThread.loop, address: try SocketAddress(host: "127.0.0.1", port: 0)) }
        let second = Box<UDPSocket?>(nil)
        defer { stopLoop(loopThread) { first.close(); second.value?.close() } }
        let port = try loopThread.sync { first.localAddress.port }
        XCTAssertThrowsError(try loopThread.sync {
            second.value = try UDPSocket(loop: loopThread.loop, address: try SocketAddress(host: "127.0.0.1", port: port))
        }) { error in
            XCTAssertEqual((error as? LoopError)?.name, "EADDRINUSE", "\(error)")
        }
    }

    /// A timer that fires after the loop was held up runs before the poll that would read what
    /// arrived meanwhile; `deliverWaiting` hands those datagrams over first.
    func testWaitingDatagramsAreDeliveredWithoutWaitingForThePoll() throws {
        let loopThread = try startedLoopThread()
        let received = Locked<[[UInt8]]>([])
        let bob = try loopThread.sync { () throws -> UDPSocket in
            let bob = try UDPSocket(loop: loopThread.loop, address: try SocketAddress(host: "127.0.0.1", port: 0))
            try bob.startReceiving { bytes, _ in received.mutate { $0.append(Array(bytes)) } }
            return bob
        }
        defer { stopLoop(loopThread) { bob.close() } }
        let deliveredInline = try loopThread.sync { () throws -> Int in
            // All of this runs inside one loop callback: no poll can read the datagrams first.
            let sender = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            defer { Glibc.close(sender) }
            for payload in [[1], [2, 2], [3, 3, 3]] as [[UInt8]] {
                let sent = bob.localAddress.withSockaddr { address in
                    sendto(sender, payload, payload.count, 0, address, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
                XCTAssertEqual(sent, payload.count)
            }
            bob.deliverWaiting()
            return received.value.count
        }
        XCTAssertEqual(deliveredInline, 3)
        XCTAssertEqual(received.value, [[1], [2, 2], [3, 3, 3]])
        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertEqual(received.value.count, 3, "the poll found nothing left to deliver twice")
    }
}
