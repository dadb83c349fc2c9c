public import ProloDomain

extension TreatmentState {
    /// The state as `prolo patient show --json` prints it; `overdue` is judged against `now`.
    public func jsonValue(at now: Timestamp) -> JSONValue {
        var object = storedJSONValue.objectValue ?? [:]
        object["overdue"] = .bool(overdue(at: now))
        return .object(object)
    }

    /// The state without anything that depends on the time it is read.
    public var storedJSONValue: JSONValue {
        .object([
            "patient": .string(patient.text),
            "consent": .string(consent.rawValue),
            "courseStatus": .string(courseStatus.rawValue),
            "course": Self.optional(course),
            "closingReason": Self.optional(closingReason),
            "sessionsPlanned": sessionsPlanned.map { .int(Int64($0)) } ?? .null,
            "sessionsCompleted": .int(Int64(sessionsCompleted)),
            "injectionsTotal": .int(Int64(injectionsTotal)),
            "firstInjectionAt": Self.time(firstInjectionAt),
            "lastInjectionAt": Self.time(lastInjectionAt),
            "nextDue": nextDue.map { .object(["from": Self.time($0.from), "to": Self.time($0.to)]) } ?? .null,
            "baselinePain": Self.pain(baselinePain),
            "latestPain": Self.pain(latestPain),
            "improvementPercent": .object([
                "nrs": improvementPercent.nrs.map(JSONValue.double) ?? .null,
                "odi": improvementPercent.odi.map(JSONValue.double) ?? .null,
            ]),
            "responder": .bool(responder),
            "openSideEffects": .array(openSideEffects.map(Self.sideEffect)),
            "adjunctTherapies": .object(adjunctTherapies.mapValues { .int(Int64($0)) }),
            "upcomingAppointments": .array(upcomingAppointments.map { Self.time($0) }),
            "alerts": .array(alerts.map(Self.flag)),
            "reviewFlags": .array(reviewFlags.map(Self.flag)),
            "retracted": .array(retracted.map(JSONValue.string)),
            "amended": .array(amended.map(JSONValue.string)),
            "eventCount": .int(Int64(eventCount)),
        ])
    }

    /// RFC 3339 text of a time in ms since the epoch, or null.
    static func time(_ milliseconds: Int64?) -> JSONValue {
        milliseconds.map { .string(Timestamp(millisecondsSinceEpoch: $0).text) } ?? .null
    }

    private static func optional(_ text: String?) -> JSONValue {
        text.map(JSONValue.string) ?? .null
    }

    private static func pain(_ pain: Pain) -> JSONValue {
        .object([
            "nrs": pain.nrs.map { .int(Int64($0)) } ?? .null, "odi": pain.odi.map { .int(Int64($0)) } ?? .null,
            "vas": pain.vas.map { .int(Int64($0)) } ?? .null,
            "rolandMorris": pain.rolandMorris.map { .int(Int64($0)) } ?? .null,
        ])
    }

    private static func flag(_ flag: Flag) -> JSONValue {
        .object([
            "kind": .string(flag.kind),
            "raisedBy": .array(flag.raisedBy.map(JSONValue.string)),
            "raisedAt": time(flag.raisedAt),
            "cleared": .bool(flag.cleared),
            "clearedBy": optional(flag.clearedBy),
        ])
    }

    private static func sideEffect(_ effect: OpenSideEffect) -> JSONValue {
        .object([
            "event": .string(effect.event),
            "grade": .int(Int64(effect.grade)),
            "kinds": .array(effect.kinds.map(JSONValue.string)),
            "onset": time(effect.onset),
            "temperatureC": effect.temperatureC.map(JSONValue.double) ?? .null,
            "injection": optional(effect.injection),
            "daysSinceInjection": effect.daysSinceInjection.map { .int(Int64($0)) } ?? .null,
        ])
    }
}
