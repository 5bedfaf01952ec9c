"""The generator of the sample data set that Limnos ships in ``src/limnos/sample/files/``.

Run ``python -m sample_data.make`` from the ``tools/`` directory to write the files;
see ``README.md`` next to this module.
"""
