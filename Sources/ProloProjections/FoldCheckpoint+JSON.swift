import ProloDomain

/// The checkpoint as the read model stores it (`patient_fold.checkpoint`): canonical JSON with short keys and
/// times as integers (ms since the epoch), read back exactly. Nothing in it is a source of truth: a damaged one
/// is refolded from the log.
extension FoldCheckpoint {
    /// The stored bytes.
    var encoded: [UInt8] {
        var object: [String: JSONValue] = [
            "state": Self.encode(state),
            "baselineFromExam": .bool(baselineFromExam),
            "scores": .object(scores.mapValues { .array([.int($0.first.at), .int(Int64($0.first.score)), .int($0.latest.at), .int(Int64($0.latest.score))]) }),
            "courses": .array(courses.map(Self.encode)),
            "clearances": .array(clearances.map {
                .array([.string($0.id), .string($0.kind), $0.names.map(JSONValue.string) ?? .null, .int($0.at)])
            }),
            "resolutions": .object(resolutions.mapValues(JSONValue.int)),
            "cancelledSessions": .array(cancelledSessions.sorted().map(JSONValue.string)),
            "closes": .object(closes.mapValues(Self.encode)),
            "injections": .array(injections.map(Self.encode)),
            "namedInjections": .array(namedInjections.sorted().map(JSONValue.string)),
            "correctionTargets": .array(correctionTargets.sorted().map(JSONValue.string)),
        ]
        object["last"] = last.map(Self.encode)
        object["latestOccurredAt"] = latestOccurredAt.map(JSONValue.int)
        object["bodyWeightKg"] = bodyWeightKg.map(JSONValue.double)
        object["previousInjection"] = previousInjection.map(Self.encode)
        object["consentGiven"] = consentGiven.map(JSONValue.bool)
        object["latestReportOnset"] = latestReportOnset.map(JSONValue.int)
        return CanonicalJSON.encode(.object(object))
    }

    /// Reads what ``encoded`` wrote.
    init(patient: PatientID, policy: TreatmentPolicy, encoded bytes: [UInt8]) throws(ProjectionError) {
        self.init(patient: patient, policy: policy)
        do throws(Damage) {
            let value: JSONValue
            do {
                value = try JSONParser.parse(bytes)
            } catch {
                throw Damage()
            }
            let reader = Reader(value)
            state = try Self.decodeState(try reader.member("state"), patient: patient)
            last = try reader.optional("last").map(Self.decodeMark)
            latestOccurredAt = try reader.optional("latestOccurredAt").map(Reader.int)
            baselineFromExam = try Reader.bool(try reader.member("baselineFromExam"))
            for (instrument, entry) in try Reader.object(try reader.member("scores")) {
                let parts = try Reader.array(entry).map(Reader.int)
                guard parts.count == 4 else { throw Damage() }
                scores[instrument] = Scores(first: (parts[0], Int(parts[1])), latest: (parts[2], Int(parts[3])))
            }
            bodyWeightKg = try reader.optional("bodyWeightKg").map(Reader.double)
            previousInjection = try reader.optional("previousInjection").map(Self.decodeMark)
            courses = try Reader.array(try reader.member("courses")).map(Self.decodeCourse)
            consentGiven = try reader.optional("consentGiven").map(Reader.bool)
            clearances = try Reader.array(try reader.member("clearances")).map { entry throws(Damage) in
                let parts = try Reader.array(entry)
                guard parts.count == 4 else { throw Damage() }
                return Clearance(
                    id: try Reader.string(parts[0]), kind: try Reader.string(parts[1]),
                    names: parts[2] == .null ? nil : try Reader.string(parts[2]), at: try Reader.int(parts[3]))
            }
            resolutions = try Reader.object(try reader.member("resolutions"), Reader.int)
            cancelledSessions = Set(try Reader.array(try reader.member("cancelledSessions")).map(Reader.string))
            closes = try Reader.object(try reader.member("closes"), Self.decodeClose)
            injections = try Reader.array(try reader.member("injections")).map(Self.decodeMark)
            latestReportOnset = try reader.optional("latestReportOnset").map(Reader.int)
            namedInjections = Set(try Reader.array(try reader.member("namedInjections")).map(Reader.string))
            correctionTargets = Set(try Reader.array(try reader.member("correctionTargets")).map(Reader.string))
        } catch {
            throw ProjectionError("the stored fold of patient \(patient) is damaged; run prolo rebuild")
        }
    }

    // MARK: Parts

    private static func encode(_ mark: Mark) -> JSONValue {
        .array([.string(mark.id), .string(mark.origin), .int(mark.originSeq), .int(mark.hlc), .int(mark.occurredAt)])
    }

    private static func decodeMark(_ value: JSONValue) throws(Damage) -> Mark {
        let parts = try Reader.array(value)
        guard parts.count == 5 else { throw Damage() }
        return Mark(
            id: try Reader.string(parts[0]), origin: try Reader.string(parts[1]), originSeq: try Reader.int(parts[2]),
            hlc: try Reader.int(parts[3]), occurredAt: try Reader.int(parts[4]))
    }

    private static func encode(_ close: Close) -> JSONValue {
        .array([.string(close.id), .int(close.occurredAt), close.reason.map(JSONValue.string) ?? .null])
    }

    private static func decodeClose(_ value: JSONValue) throws(Damage) -> Close {
        let parts = try Reader.array(value)
        guard parts.count == 3 else { throw Damage() }
        return Close(
            id: try Reader.string(parts[0]), occurredAt: try Reader.int(parts[1]),
            reason: parts[2] == .null ? nil : try Reader.string(parts[2]))
    }

    private static func encode(_ course: Course) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(course.id), "plannedAt": .int(course.plannedAt), "injectionCount": .int(Int64(course.injectionCount)),
            "leadingInjections": .array(course.leadingInjections.map(encode)),
        ]
        object["sessions"] = course.sessions.map { .int(Int64($0)) }
        object["minWeeks"] = course.minWeeks.map { .int(Int64($0)) }
        object["maxWeeks"] = course.maxWeeks.map { .int(Int64($0)) }
        object["close"] = course.close.map(encode)
        object["lastInjection"] = course.lastInjection.map(encode)
        return .object(object)
    }

    private static func decodeCourse(_ value: JSONValue) throws(Damage) -> Course {
        let reader = Reader(value)
        var course = Course(
            id: try Reader.string(try reader.member("id")), plannedAt: try Reader.int(try reader.member("plannedAt")),
            sessions: try reader.optional("sessions").map(Reader.smallInt),
            minWeeks: try reader.optional("minWeeks").map(Reader.smallInt),
            maxWeeks: try reader.optional("maxWeeks").map(Reader.smallInt),
            close: try reader.optional("close").map(decodeClose))
        course.injectionCount = try Reader.smallInt(try reader.member("injectionCount"))
        course.leadingInjections = try Reader.array(try reader.member("leadingInjections")).map(decodeMark)
        course.lastInjection = try reader.optional("lastInjection").map(decodeMark)
        return course
    }

    // MARK: The state

    private static func encode(_ state: TreatmentState) -> JSONValue {
        func flag(_ flag: TreatmentState.Flag) -> JSONValue {
            .array([
                .string(flag.kind), .array(flag.raisedBy.map(JSONValue.string)), .int(flag.raisedAt),
                flag.clearedBy.map(JSONValue.string) ?? .null,
            ])
        }
        func pain(_ pain: TreatmentState.Pain) -> JSONValue {
            .array([pain.nrs, pain.odi, pain.vas, pain.rolandMorris].map { $0.map { .int(Int64($0)) } ?? .null })
        }
        var object: [String: JSONValue] = [
            "consent": .string(state.consent.rawValue),
            "courseStatus": .string(state.courseStatus.rawValue),
            "sessionsCompleted": .int(Int64(state.sessionsCompleted)),
            "injectionsTotal": .int(Int64(state.injectionsTotal)),
            "baselinePain": pain(state.baselinePain),
            "latestPain": pain(state.latestPain),
            "responder": .bool(state.responder),
            "openSideEffects": .array(state.openSideEffects.map { effect in
                .array([
                    .string(effect.event), .int(Int64(effect.grade)), .array(effect.kinds.map(JSONValue.string)),
                    .int(effect.onset), effect.temperatureC.map(JSONValue.double) ?? .null,
                    effect.injection.map(JSONValue.string) ?? .null,
                    effect.daysSinceInjection.map { .int(Int64($0)) } ?? .null,
                ])
            }),
            "adjunctTherapies": .object(state.adjunctTherapies.mapValues { .int(Int64($0)) }),
            "upcomingAppointments": .array(state.upcomingAppointments.map(JSONValue.int)),
            "alerts": .array(state.alerts.map(flag)),
            "reviewFlags": .array(state.reviewFlags.map(flag)),
            "retracted": .array(state.retracted.map(JSONValue.string)),
            "amended": .array(state.amended.map(JSONValue.string)),
            "eventCount": .int(Int64(state.eventCount)),
        ]
        object["course"] = state.course.map(JSONValue.string)
        object["closingReason"] = state.closingReason.map(JSONValue.string)
        object["sessionsPlanned"] = state.sessionsPlanned.map { .int(Int64($0)) }
        object["firstInjectionAt"] = state.firstInjectionAt.map(JSONValue.int)
        object["lastInjectionAt"] = state.lastInjectionAt.map(JSONValue.int)
        object["nextDue"] = state.nextDue.map { .array([.int($0.from), .int($0.to)]) }
        object["improvementNRS"] = state.improvementPercent.nrs.map(JSONValue.double)
        object["improvementODI"] = state.improvementPercent.odi.map(JSONValue.double)
        return .object(object)
    }

    private static func decodeState(_ value: JSONValue, patient: PatientID) throws(Damage) -> TreatmentState {
        func flag(_ value: JSONValue) throws(Damage) -> TreatmentState.Flag {
            let parts = try Reader.array(value)
            guard parts.count == 4 else { throw Damage() }
            return TreatmentState.Flag(
                kind: try Reader.string(parts[0]), raisedBy: try Reader.array(parts[1]).map(Reader.string),
                raisedAt: try Reader.int(parts[2]), clearedBy: parts[3] == .null ? nil : try Reader.string(parts[3]))
        }
        func pain(_ value: JSONValue) throws(Damage) -> TreatmentState.Pain {
            let parts = try Reader.array(value).map { part throws(Damage) in part == .null ? nil : try Reader.smallInt(part) }
            guard parts.count == 4 else { throw Damage() }
            return TreatmentState.Pain(nrs: parts[0], odi: parts[1], vas: parts[2], rolandMorris: parts[3])
        }
        let reader = Reader(value)
        var state = TreatmentState(patient: patient)
        guard let consent = TreatmentState.Consent(rawValue: try Reader.string(try reader.member("consent"))),
            let courseStatus = TreatmentState.CourseStatus(rawValue: try Reader.string(try reader.member("courseStatus")))
        else { throw Damage() }
        state.consent = consent
        state.courseStatus = courseStatus
        state.course = try reader.optional("course").map(Reader.string)
        state.closingReason = try reader.optional("closingReason").map(Reader.string)
        state.sessionsPlanned = try reader.optional("sessionsPlanned").map(Reader.smallInt)
        state.sessionsCompleted = try Reader.smallInt(try reader.member("sessionsCompleted"))
        state.injectionsTotal = try Reader.smallInt(try reader.member("injectionsTotal"))
        state.firstInjectionAt = try reader.optional("firstInjectionAt").map(Reader.int)
        state.lastInjectionAt = try reader.optional("lastInjectionAt").map(Reader.int)
        if let window = reader.optional("nextDue") {
            let parts = try Reader.array(window).map(Reader.int)
            guard parts.count == 2 else { throw Damage() }
            state.nextDue = TreatmentState.Window(from: parts[0], to: parts[1])
        }
        state.baselinePain = try pain(try reader.member("baselinePain"))
        state.latestPain = try pain(try reader.member("latestPain"))
        state.improvementPercent.nrs = try reader.optional("improvementNRS").map(Reader.double)
        state.improvementPercent.odi = try reader.optional("improvementODI").map(Reader.double)
        state.responder = try Reader.bool(try reader.member("responder"))
        state.openSideEffects = try Reader.array(try reader.member("openSideEffects")).map { entry throws(Damage) in
            let parts = try Reader.array(entry)
            guard parts.count == 7 else { throw Damage() }
            return TreatmentState.OpenSideEffect(
                event: try Reader.string(parts[0]), grade: try Reader.smallInt(parts[1]),
                kinds: try Reader.array(parts[2]).map(Reader.string), onset: try Reader.int(parts[3]),
                temperatureC: parts[4] == .null ? nil : try Reader.double(parts[4]),
                injection: parts[5] == .null ? nil : try Reader.string(parts[5]),
                daysSinceInjection: parts[6] == .null ? nil : try Reader.smallInt(parts[6]))
        }
        state.adjunctTherapies = try Reader.object(try reader.member("adjunctTherapies"), Reader.smallInt)
        state.upcomingAppointments = try Reader.array(try reader.member("upcomingAppointments")).map(Reader.int)
        state.alerts = try Reader.array(try reader.member("alerts")).map(flag)
        state.reviewFlags = try Reader.array(try reader.member("reviewFlags")).map(flag)
        state.retracted = try Reader.array(try reader.member("retracted")).map(Reader.string)
        state.amended = try Reader.array(try reader.member("amended")).map(Reader.string)
        state.eventCount = try Reader.smallInt(try reader.member("eventCount"))
        return state
    }
}

/// A stored checkpoint does not have the shape ``FoldCheckpoint/encoded`` writes.
private struct Damage: Error {}

/// Typed access to a stored checkpoint's JSON; anything unexpected is ``Damage``.
private struct Reader {
    let members: [String: JSONValue]

    init(_ value: JSONValue) {
        members = value.objectValue ?? [:]
    }

    func member(_ key: String) throws(Damage) -> JSONValue {
        guard let value = members[key] else { throw Damage() }
        return value
    }

    /// A member that may be absent (or null).
    func optional(_ key: String) -> JSONValue? {
        guard let value = members[key], value != .null else { return nil }
        return value
    }

    static func int(_ value: JSONValue) throws(Damage) -> Int64 {
        guard case .int(let number) = value else { throw Damage() }
        return number
    }

    static func smallInt(_ value: JSONValue) throws(Damage) -> Int {
        Int(try int(value))
    }

    static func double(_ value: JSONValue) throws(Damage) -> Double {
        guard let number = value.doubleValue else { throw Damage() }
        return number
    }

    static func bool(_ value: JSONValue) throws(Damage) -> Bool {
        guard case .bool(let flag) = value else { throw Damage() }
        return flag
    }

    static func string(_ value: JSONValue) throws(Damage) -> String {
        guard case .string(let text) = value else { throw Damage() }
        return text
    }

    static func array(_ value: JSONValue) throws(Damage) -> [JSONValue] {
        guard case .array(let elements) = value else { throw Damage() }
        return elements
    }

    static func object(_ value: JSONValue) throws(Damage) -> [String: JSONValue] {
        guard case .object(let members) = value else { throw Damage() }
        return members
    }

    /// An object's members, each read by `read`.
    static func object<Value>(_ value: JSONValue, _ read: (JSONValue) throws(Damage) -> Value) throws(Damage)
        -> [String: Value]
    {
        var result: [String: Value] = [:]
        for (key, member) in try object(value) { result[key] = try read(member) }
        return result
    }
}
