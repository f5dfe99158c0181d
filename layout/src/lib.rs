//! opscope-layout: layout and phrasing shared by the faces.
