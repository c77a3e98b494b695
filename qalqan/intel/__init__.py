"""Intel exchange with partners: indicators out as MISP events or STIX 2.1 bundles, and back.

    qalqan analyze folder ──feed_of_analysis──▶ Feed ──to_misp / to_stix──▶ JSON
    partner's JSON ──read_feed (bounded)──▶ Feed ──merge_into_list──▶ reputation list CSV

:mod:`qalqan.intel.model` holds what is exchanged, :mod:`~qalqan.intel.misp`
and :mod:`~qalqan.intel.stix` the two formats, :mod:`~qalqan.intel.feed_file`
the bounded reading of a partner's file, :mod:`~qalqan.intel.listing` the
reputation list screening loads, :mod:`~qalqan.intel.push` the one module that
opens a connection (to a MISP instance). Errors: :class:`~qalqan.intel.model.FeedError`
(a :class:`~qalqan.errors.QalqanError`) names the file, the object and the reason.
"""
