import EspyCluster
import XCTest

final class WriteQuorumTests: XCTestCase {
    func testRequiredCommits() {
        let cases: [(WriteQuorum, Int, Int)] = [
            (.one, 1, 1), (.one, 3, 1),
            (.majority, 1, 1), (.majority, 2, 2), (.majority, 3, 2), (.majority, 4, 3), (.majority, 5, 3), (.majority, 6, 4),
            (.all, 1, 1), (.all, 3, 3), (.all, 6, 6),
        ]
        for (quorum, replicas, required) in cases {
            XCTAssertEqual(quorum.required(replicaCount: replicas), required, "\(quorum) of \(replicas)")
        }
    }

    func testNoReplicas_stillRequiresOneCommit_soNothingIsAcknowledgedUnstored() {
        for quorum in WriteQuorum.allCases { XCTAssertEqual(quorum.required(replicaCount: 0), 1, "\(quorum)") }
    }

    func testDefaultIsMajority() {
        XCTAssertEqual(WriteQuorum.default, .majority)
    }

    func testParsesConfigText() throws {
        XCTAssertEqual(try WriteQuorum(configText: "one"), .one)
        XCTAssertEqual(try WriteQuorum(configText: " Majority\n"), .majority)
        XCTAssertEqual(try WriteQuorum(configText: "ALL"), .all)
    }

    func testRejectsOtherText_namingTheChoices() {
        for text in ["", "quorum", "2", "al l"] {
            XCTAssertThrowsError(try WriteQuorum(configText: text)) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains("'\(text)'") && message.contains("'majority'"), message)
            }
        }
    }
}
