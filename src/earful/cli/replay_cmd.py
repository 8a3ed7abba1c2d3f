"""CLI: ``earful replay SCENARIO [--trace] [--db URL]`` — escalations as JSON Lines."""

from __future__ import annotations

import typer

from earful.cli.common import print_json_lines, state


def register(app: typer.Typer) -> None:
    """Adds this module's commands to app."""

    @app.command("replay")
    def replay(
        ctx: typer.Context,
        scenario: str = typer.Argument(
            ...,
            help="scenario file (JSON Lines), or a bundled one: ubg, quiet_day, united_3411, ...",
        ),
        trace: bool = typer.Option(False, "--trace", help="print every risk evaluation too"),
        db: str = typer.Option(
            None,
            "--db",
            help="keep what the run stored in this database (the global --db does the same) "
            "[default: a temporary one]",
        ),
        summary: bool = typer.Option(
            False, "--summary", help="end with one summary line (lead hours, counts)"
        ),
    ) -> None:
        """Play a scenario on a simulated clock through the real pipeline, risk and escalation."""
        from earful.run.replay import ScenarioError, load_scenario, run_replay

        st = state(ctx)
        try:
            load_scenario(scenario)  # bad name or format: a usage error (exit 2), before any work
        except ScenarioError as exc:
            raise typer.BadParameter(str(exc), param_hint="SCENARIO") from exc
        result = run_replay(
            scenario,
            db_url=db or (st.db_url if st.db_explicit else None),
            config_dir=st.config_dir,
            trace=trace,
            emit=lambda line: print_json_lines([line]),
        )
        if summary:
            print_json_lines(
                [
                    {
                        "type": "summary",
                        "events": result.events,
                        "evaluations": result.evaluations,
                        "escalations": len({e["escalation_id"] for e in result.escalations}),
                        "hours_to_first_escalation": result.hours_to_first_escalation(),
                        "lead_hours_before_views_peak": result.lead_hours(),
                        "rejected": result.rejected,
                    }
                ]
            )
