"""`mixmock serve --replay DIR`: the mock answers from recordings, the spec answers the rest.

`open_replay` reads the recordings a server's settings name; the pipeline asks `Replay.answer` after
routing and intake (`pipeline/handler.py`), and the app serves recorded files with `Replay.file`.
"""

from __future__ import annotations

from mock_server.replay.player import REPLAY_HEADER, Replay, Replayed
from mock_server.replay.recording import Recording, load_recording
from mock_server.services.webhooks import WebhookPolicy
from mock_server.settings import Settings, SettingsError
from mock_server.state.clock import Clock
from mock_server.state.jobs import JobStore

__all__ = ["REPLAY_HEADER", "Recording", "Replay", "Replayed", "load_recording", "open_replay"]


def open_replay(settings: Settings, clock: Clock, jobs: JobStore) -> Replay | None:
    """The replay the settings ask for (None without `replay_dir`); SettingsError naming a bad recording.

    A job the mock made itself (`jobs`) is answered by the spec, whatever the recording holds under its id.
    """
    if settings.replay_dir is None:
        return None
    try:
        recording = load_recording(settings.replay_dir)
    except ValueError as error:
        raise SettingsError(f"setting 'replay_dir': {error}") from None
    policy = WebhookPolicy(allow_hosts=settings.webhook_allow_hosts)

    def spec_knows(job_id: str) -> bool:
        return job_id.isdigit() and len(job_id) < 19 and jobs.get(int(job_id)) is not None

    return Replay(recording, settings.replay_speed, clock, policy, spec_knows=spec_knows)
