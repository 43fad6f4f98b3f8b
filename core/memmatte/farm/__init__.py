"""memmatte.farm: a shot as a render-farm job whose tasks are frame chunks of
``memmatte render`` (exact by the finite memory window, DESIGN invariant 1).

- :mod:`.openjd`: Open Job Description job bundles (AWS Deadline Cloud, ``openjd run``).
- :mod:`.opencue`: OpenCue outlines built and serialised with pyoutline.
- :mod:`.chunks`, :mod:`.render_args`, :mod:`.shots`: the cut, the command, the shots.
- :mod:`.sheet`: the contact sheet a job writes after its chunks.
"""
