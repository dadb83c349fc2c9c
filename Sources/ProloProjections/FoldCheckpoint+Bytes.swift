import ProloDomain

/// The checkpoint as the read model stores it (`patient_fold.checkpoint`), in ``CheckpointWriter``'s format with a
/// leading format byte, read back exactly. Nothing in it is a source of truth: a damaged one fails the append with
/// a message that says to rebuild, and `prolo rebuild` derives it again from the log.
extension FoldCheckpoint {
    /// The format byte this build writes and reads.
    static let format: UInt8 = 3  // 2: no canonical-order mark; 3: the latest fact's clinical position, not only its time

    /// The stored bytes.
    var encoded: [UInt8] {
        var writer = CheckpointWriter(capacity: 512)
        writer.int(Int64(Self.format))
        Self.write(state, to: &writer)
        writer.optional(latest) { writer, latest in
            writer.int(latest.occurredAt)
            writer.int(latest.hlc)
            writer.string(latest.origin)
            writer.int(latest.originSeq)
        }
        writer.bool(baselineFromExam)
        writer.dictionary(scores) { writer, scores in
            writer.int(scores.first.at)
            writer.int(scores.first.score)
            writer.int(scores.latest.at)
            writer.int(scores.latest.score)
        }
        writer.optional(bodyWeightKg) { $0.double($1) }
        writer.optional(previousInjection) { $0.mark($1) }
        writer.list(courses) { writer, course in
            writer.string(course.id)
            writer.int(course.plannedAt)
            writer.optional(course.sessions) { $0.int($1) }
            writer.optional(course.minWeeks) { $0.int($1) }
            writer.optional(course.maxWeeks) { $0.int($1) }
            writer.optional(course.close) { $0.close($1) }
            writer.int(course.injectionCount)
            writer.list(course.leadingInjections) { $0.mark($1) }
            writer.optional(course.lastInjection) { $0.mark($1) }
        }
        writer.optional(consentGiven) { $0.bool($1) }
        writer.list(clearances) { writer, clearance in
            writer.string(clearance.id)
            writer.string(clearance.kind)
            writer.optional(clearance.names) { $0.string($1) }
            writer.int(clearance.at)
        }
        writer.dictionary(resolutions) { $0.int($1) }
        writer.strings(cancelledSessions)
        writer.dictionary(scheduled) { $0.int($1) }
        writer.strings(numbnessReports)
        writer.dictionary(closes) { $0.close($1) }
        writer.list(injections) { $0.mark($1) }
        writer.optional(latestReportOnset) { $0.int($1) }
        writer.strings(namedInjections)
        writer.strings(correctionTargets)
        return writer.bytes
    }

    /// Reads what ``encoded`` wrote.
    init(patient: PatientID, policy: TreatmentPolicy, encoded bytes: [UInt8]) throws(ProjectionError) {
        self.init(patient: patient, policy: policy)
        var reader = CheckpointReader(bytes)
        do throws(CheckpointDamage) {
            guard try reader.int() == Int64(Self.format) else { throw CheckpointDamage() }
            state = try Self.readState(patient: patient, from: &reader)
            latest = try reader.optional { reader throws(CheckpointDamage) in
                ClinicalPosition(
                    occurredAt: try reader.int(), hlc: try reader.int(), origin: try reader.string(),
                    originSeq: try reader.int())
            }
            baselineFromExam = try reader.bool()
            scores = try reader.dictionary { reader throws(CheckpointDamage) in
                Scores(first: (try reader.int(), try reader.smallInt()), latest: (try reader.int(), try reader.smallInt()))
            }
            bodyWeightKg = try reader.optional { reader throws(CheckpointDamage) in try reader.double() }
            previousInjection = try reader.optional { reader throws(CheckpointDamage) in try reader.mark() }
            courses = try reader.list { reader throws(CheckpointDamage) in
                var course = Course(
                    id: try reader.string(), plannedAt: try reader.int(),
                    sessions: try reader.optional { reader throws(CheckpointDamage) in try reader.smallInt() },
                    minWeeks: try reader.optional { reader throws(CheckpointDamage) in try reader.smallInt() },
                    maxWeeks: try reader.optional { reader throws(CheckpointDamage) in try reader.smallInt() },
                    close: try reader.optional { reader throws(CheckpointDamage) in try reader.close() })
                course.injectionCount = try reader.smallInt()
                course.leadingInjections = try reader.list { reader throws(CheckpointDamage) in try reader.mark() }
                course.lastInjection = try reader.optional { reader throws(CheckpointDamage) in try reader.mark() }
                return course
            }
            consentGiven = try reader.optional { reader throws(CheckpointDamage) in try reader.bool() }
            clearances = try reader.list { reader throws(CheckpointDamage) in
                Clearance(
                    id: try reader.string(), kind: try reader.string(),
                    names: try reader.optional { reader throws(CheckpointDamage) in try reader.string() },
                    at: try reader.int())
            }
            resolutions = try reader.dictionary { reader throws(CheckpointDamage) in try reader.int() }
            cancelledSessions = try reader.strings()
            scheduled = try reader.dictionary { reader throws(CheckpointDamage) in try reader.int() }
            numbnessReports = try reader.strings()
            closes = try reader.dictionary { reader throws(CheckpointDamage) in try reader.close() }
            injections = try reader.list { reader throws(CheckpointDamage) in try reader.mark() }
            latestReportOnset = try reader.optional { reader throws(CheckpointDamage) in try reader.int() }
            namedInjections = try reader.strings()
            correctionTargets = try reader.strings()
            guard reader.isAtEnd else { throw CheckpointDamage() }
        } catch {
            throw ProjectionError("the stored fold of patient \(patient) is damaged; run prolo rebuild")
        }
    }

    // MARK: The state

    private static func write(_ state: TreatmentState, to writer: inout CheckpointWriter) {
        func flag(_ writer: inout CheckpointWriter, _ flag: TreatmentState.Flag) {
            writer.string(flag.kind)
            writer.list(flag.raisedBy) { $0.string($1) }
            writer.int(flag.raisedAt)
            writer.optional(flag.clearedBy) { $0.string($1) }
        }
        func pain(_ pain: TreatmentState.Pain) {
            for score in [pain.nrs, pain.odi, pain.vas, pain.rolandMorris] { writer.optional(score) { $0.int($1) } }
        }
        writer.string(state.consent.rawValue)
        writer.string(state.courseStatus.rawValue)
        writer.optional(state.course) { $0.string($1) }
        writer.optional(state.closingReason) { $0.string($1) }
        writer.optional(state.sessionsPlanned) { $0.int($1) }
        writer.int(state.sessionsCompleted)
        writer.int(state.injectionsTotal)
        writer.optional(state.firstInjectionAt) { $0.int($1) }
        writer.optional(state.lastInjectionAt) { $0.int($1) }
        writer.optional(state.nextDue) { writer, window in
            writer.int(window.from)
            writer.int(window.to)
        }
        pain(state.baselinePain)
        pain(state.latestPain)
        writer.optional(state.improvementPercent.nrs) { $0.double($1) }
        writer.optional(state.improvementPercent.odi) { $0.double($1) }
        writer.bool(state.responder)
        writer.list(state.openSideEffects) { writer, effect in
            writer.string(effect.event)
            writer.int(effect.grade)
            writer.list(effect.kinds) { $0.string($1) }
            writer.int(effect.onset)
            writer.optional(effect.temperatureC) { $0.double($1) }
            writer.optional(effect.injection) { $0.string($1) }
            writer.optional(effect.daysSinceInjection) { $0.int($1) }
        }
        writer.dictionary(state.adjunctTherapies) { $0.int($1) }
        writer.list(state.upcomingAppointments) { $0.int($1) }
        writer.list(state.alerts, flag)
        writer.list(state.reviewFlags, flag)
        writer.list(state.retracted) { $0.string($1) }
        writer.list(state.amended) { $0.string($1) }
        writer.int(state.eventCount)
    }

    private static func readState(patient: PatientID, from reader: inout CheckpointReader)
        throws(CheckpointDamage) -> TreatmentState
    {
        func flag(_ reader: inout CheckpointReader) throws(CheckpointDamage) -> TreatmentState.Flag {
            TreatmentState.Flag(
                kind: try reader.string(),
                raisedBy: try reader.list { reader throws(CheckpointDamage) in try reader.string() },
                raisedAt: try reader.int(),
                clearedBy: try reader.optional { reader throws(CheckpointDamage) in try reader.string() })
        }
        func score(_ reader: inout CheckpointReader) throws(CheckpointDamage) -> Int? {
            try reader.optional { reader throws(CheckpointDamage) in try reader.smallInt() }
        }
        func pain(_ reader: inout CheckpointReader) throws(CheckpointDamage) -> TreatmentState.Pain {
            TreatmentState.Pain(nrs: try score(&reader), odi: try score(&reader), vas: try score(&reader), rolandMorris: try score(&reader))
        }
        var state = TreatmentState(patient: patient)
        guard let consent = TreatmentState.Consent(rawValue: try reader.string()),
            let courseStatus = TreatmentState.CourseStatus(rawValue: try reader.string())
        else { throw CheckpointDamage() }
        state.consent = consent
        state.courseStatus = courseStatus
        state.course = try reader.optional { reader throws(CheckpointDamage) in try reader.string() }
        state.closingReason = try reader.optional { reader throws(CheckpointDamage) in try reader.string() }
        state.sessionsPlanned = try reader.optional { reader throws(CheckpointDamage) in try reader.smallInt() }
        state.sessionsCompleted = try reader.smallInt()
        state.injectionsTotal = try reader.smallInt()
        state.firstInjectionAt = try reader.optional { reader throws(CheckpointDamage) in try reader.int() }
        state.lastInjectionAt = try reader.optional { reader throws(CheckpointDamage) in try reader.int() }
        state.nextDue = try reader.optional { reader throws(CheckpointDamage) in
            TreatmentState.Window(from: try reader.int(), to: try reader.int())
        }
        state.baselinePain = try pain(&reader)
        state.latestPain = try pain(&reader)
        state.improvementPercent.nrs = try reader.optional { reader throws(CheckpointDamage) in try reader.double() }
        state.improvementPercent.odi = try reader.optional { reader throws(CheckpointDamage) in try reader.double() }
        state.responder = try reader.bool()
        state.openSideEffects = try reader.list { reader throws(CheckpointDamage) in
            TreatmentState.OpenSideEffect(
                event: try reader.string(), grade: try reader.smallInt(),
                kinds: try reader.list { reader throws(CheckpointDamage) in try reader.string() },
                onset: try reader.int(),
                temperatureC: try reader.optional { reader throws(CheckpointDamage) in try reader.double() },
                injection: try reader.optional { reader throws(CheckpointDamage) in try reader.string() },
                daysSinceInjection: try reader.optional { reader throws(CheckpointDamage) in try reader.smallInt() })
        }
        state.adjunctTherapies = try reader.dictionary { reader throws(CheckpointDamage) in try reader.smallInt() }
        state.upcomingAppointments = try reader.list { reader throws(CheckpointDamage) in try reader.int() }
        state.alerts = try reader.list(flag)
        state.reviewFlags = try reader.list(flag)
        state.retracted = try reader.list { reader throws(CheckpointDamage) in try reader.string() }
        state.amended = try reader.list { reader throws(CheckpointDamage) in try reader.string() }
        state.eventCount = try reader.smallInt()
        return state
    }
}

extension CheckpointWriter {
    fileprivate mutating func mark(_ mark: FoldCheckpoint.Mark) {
        string(mark.id)
        string(mark.origin)
        int(mark.originSeq)
        int(mark.hlc)
        int(mark.occurredAt)
    }

    fileprivate mutating func close(_ close: FoldCheckpoint.Close) {
        string(close.id)
        int(close.occurredAt)
        optional(close.reason) { $0.string($1) }
    }
}

extension CheckpointReader {
    fileprivate mutating func mark() throws(CheckpointDamage) -> FoldCheckpoint.Mark {
        FoldCheckpoint.Mark(id: try string(), origin: try string(), originSeq: try int(), hlc: try int(), occurredAt: try int())
    }

    fileprivate mutating func close() throws(CheckpointDamage) -> FoldCheckpoint.Close {
        FoldCheckpoint.Close(
            id: try string(), occurredAt: try int(),
            reason: try optional { reader throws(CheckpointDamage) in try reader.string() })
    }
}
