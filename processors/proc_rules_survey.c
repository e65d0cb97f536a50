/* Survey responses (CONTRACT §6.15): eNPS with its detractor and low-NPS alerts, PULSE with
 * per-question averages. Responses are period events (watermark, LATE_EVENT). */
#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include "proc_money.h"
#include "proc_rules.h"

int32_t proc_period_nps(const proc_period_state *ps)
{
    if (ps->enps_responses == 0)
        return INT32_MIN;
    return (int32_t)proc_div_half_even(
        (__int128)100 * (ps->enps_promoters - ps->enps_detractors), ps->enps_responses);
}

static int detractor_alert(proc_rule_ctx *c, int32_t key)
{
    const proc_survey *s = &c->ev->u.survey;
    const char *parts[] = {c->ev->event_id, "DETRACTOR_RESPONSE"};
    proc_alert *a = proc_rule_alert(c, PROC_ALERT_DETRACTOR_RESPONSE, PROC_SEVERITY_WARNING, key,
                                    parts, 2);
    if (a == NULL)
        return -1;
    snprintf(a->message, sizeof a->message,
             "Respondent %s of partner %s scored %d in survey %s: a manager should talk to them "
             "one-on-one.", s->respondent_id, c->pt->partner_id, (int)s->score, s->survey_id);
    proc_alert_attr(a, "survey_id", s->survey_id);
    proc_alert_attr(a, "respondent_id", s->respondent_id);
    proc_alert_attr_i64(a, "score", s->score);
    return 0;
}

/* PARTNER_NPS_LOW once per partner and period, after a response that leaves at least
 * min_responses responses and the (rounded) NPS below the threshold. */
static int nps_low(proc_rule_ctx *c, int32_t key)
{
    proc_period_state *ps = proc_partner_period(c->pt, key);
    int32_t nps = proc_period_nps(ps);
    if ((ps->flags & PROC_PERIOD_NPS_ALERTED) || ps->enps_responses < c->prog->survey_min_responses ||
        nps >= c->prog->nps_threshold)
        return 0;
    ps->flags |= PROC_PERIOD_NPS_ALERTED;

    char period[PROC_PERIOD_CAP];
    proc_rule_period_name(c, key, period);
    const char *parts[] = {"PARTNER_NPS_LOW", c->pt->partner_id, c->prog->id, period};
    proc_alert *a = proc_rule_alert(c, PROC_ALERT_PARTNER_NPS_LOW, PROC_SEVERITY_CRITICAL, key,
                                    parts, 4);
    if (a == NULL)
        return -1;
    snprintf(a->message, sizeof a->message,
             "The NPS of partner %s in %s is %d after %d responses, below the threshold of %d.",
             c->pt->partner_id, period, (int)nps, (int)ps->enps_responses,
             (int)c->prog->nps_threshold);
    proc_alert_attr_i64(a, "nps", nps);
    proc_alert_attr_i64(a, "threshold", c->prog->nps_threshold);
    proc_alert_attr_i64(a, "responses", ps->enps_responses);
    return 0;
}

static int apply_enps(proc_rule_ctx *c, proc_period_state *ps)
{
    int32_t score = c->ev->u.survey.score;
    const char *group;
    if (score >= 9) {
        ps->enps_promoters++;
        group = "promoters";
    } else if (score >= 7) {
        ps->enps_passives++;
        group = "passives";
    } else {
        ps->enps_detractors++;
        group = "detractors";
    }
    ps->enps_responses++;
    if (proc_rule_kpi(c, ps->key, "responses", 1) || proc_rule_kpi(c, ps->key, group, 1))
        return -1;
    if (score <= 6 && detractor_alert(c, ps->key))
        return -1;
    return nps_low(c, ps->key);
}

/* A fixed-point value with 8 decimals as the shortest decimal: 250000000 -> "2.5". */
static void format_e8(char *out, size_t cap, int64_t v)
{
    int64_t whole = v / PROC_RATE_DEN, frac = v % PROC_RATE_DEN;
    int digits = 8;
    if (frac == 0) {
        snprintf(out, cap, "%" PRId64, whole);
        return;
    }
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    snprintf(out, cap, "%" PRId64 ".%0*" PRId64, whole, digits, frac);
}

/* PULSE_LOW once per partner, question and period, when at least min_responses answers
 * average below the threshold: sum / count < threshold_e8 / 1e8, compared exactly as
 * sum × 1e8 < threshold_e8 × count. */
static int pulse_low(proc_rule_ctx *c, int32_t key, const proc_pulse_answer *ans)
{
    proc_pulse_stat *st = proc_partner_pulse(c->pt, key, proc_hash64(ans->question_id));
    int64_t threshold = c->prog->pulse_threshold_e8;
    if (st->alerted || st->count < c->prog->survey_min_responses ||
        (__int128)st->sum * PROC_RATE_DEN >= (__int128)threshold * st->count)
        return 0;
    st->alerted = true;

    char period[PROC_PERIOD_CAP], average[32], thr[32];
    proc_rule_period_name(c, key, period);
    int64_t avg100 = proc_div_half_even((__int128)st->sum * 100, st->count);  /* 2 decimals */
    snprintf(average, sizeof average, "%" PRId64 ".%02" PRId64, avg100 / 100, avg100 % 100);
    format_e8(thr, sizeof thr, threshold);
    const char *parts[] = {"PULSE_LOW", c->pt->partner_id, c->prog->id, period, ans->question_id};
    proc_alert *a = proc_rule_alert(c, PROC_ALERT_PULSE_LOW, PROC_SEVERITY_WARNING, key, parts, 5);
    if (a == NULL)
        return -1;
    snprintf(a->message, sizeof a->message,
             "Pulse question %s of partner %s averages %s over %" PRId64 " answers in %s, below "
             "the threshold of %s.", ans->question_id, c->pt->partner_id, average, st->count,
             period, thr);
    proc_alert_attr(a, "question_id", ans->question_id);
    proc_alert_attr(a, "average", average);
    proc_alert_attr(a, "threshold", thr);
    proc_alert_attr_i64(a, "answers", st->count);
    return 0;
}

/* Every answer counts toward its question's average, also a question answered twice in
 * one response; the alerts are checked once all answers are counted. */
static int apply_pulse(proc_rule_ctx *c, int32_t key)
{
    const proc_survey *s = &c->ev->u.survey;
    for (int i = 0; i < s->n_answers; i++) {
        uint64_t q = proc_hash64(s->answers[i].question_id);
        proc_pulse_stat *st = proc_partner_pulse(c->pt, key, q);
        if (st == NULL && (st = proc_partner_add_pulse(c->pt, key, q)) == NULL)
            return -1;
        st->sum += s->answers[i].score;
        st->count++;
    }
    for (int i = 0; i < s->n_answers; i++)
        if (pulse_low(c, key, &s->answers[i]))
            return -1;
    return 0;
}

int proc_rule_survey(proc_rule_ctx *c)
{
    const proc_survey *s = &c->ev->u.survey;
    uint64_t answer = proc_hash64_pair(s->survey_id, s->respondent_id);
    if (proc_partner_responded(c->pt, answer))
        PROC_DEAD_LETTER(c, PROC_DLQ_DUPLICATE_RESPONSE, "respondent %s already answered survey %s",
                         s->respondent_id, s->survey_id);
    int32_t key = proc_period_key(c->prog->period, c->ev->occurred_at);
    if (proc_rule_late(c, key))
        return 0;

    /* Checks done: from here on the event is applied. */
    proc_period_event pe;
    proc_period_state *ps = proc_rule_period_begin(c, &pe, key);
    if (ps == NULL || proc_partner_add_response(c->pt, answer, c->ev->occurred_at))
        return -1;
    if ((s->kind == PROC_SURVEY_ENPS ? apply_enps(c, ps) : apply_pulse(c, key)) ||
        proc_rule_period_end(c, &pe))
        return -1;
    return 0;
}
